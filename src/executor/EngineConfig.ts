import { Config, Effect, Schema } from "effect"
import { defaultLimits, type EngineLimits } from "./Engine.ts"
import { MIN_MEMORY_MB } from "./quickjsInstance.ts"

/** The sandbox limits from the environment (README, Configuration), with the documented defaults. */
export const engineLimitsConfig = (stackBytes: number) =>
  Effect.gen(function*() {
    const memoryMb = yield* Config.schema(
      Schema.Int.check(Schema.isGreaterThanOrEqualTo(MIN_MEMORY_MB)),
      "PICLOUD_SANDBOX_MEMORY_MB"
    ).pipe(Config.withDefault(defaultLimits.memoryMb))
    const maxLogBytes = yield* Config.Int("PICLOUD_MAX_LOG_BYTES").pipe(Config.withDefault(defaultLimits.maxLogBytes))
    const maxResponseBytes = yield* Config.Int("PICLOUD_MAX_RESPONSE_BYTES").pipe(
      Config.withDefault(defaultLimits.maxResponseBytes)
    )
    const warmScripts = yield* Config.Int("PICLOUD_WARM_SCRIPTS").pipe(Config.withDefault(defaultLimits.warmScripts))
    const warmMemoryMb = yield* Config.Int("PICLOUD_WARM_MEMORY_MB").pipe(
      Config.withDefault(defaultLimits.warmMemoryMb)
    )
    return { memoryMb, stackBytes, maxLogBytes, maxResponseBytes, warmScripts, warmMemoryMb } satisfies EngineLimits
  })
