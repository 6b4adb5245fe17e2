import { Config, Effect } from "effect"
import { defaultLimits, type EngineLimits } from "./Engine.ts"

/** The sandbox limits from the environment (README, Configuration), with the documented defaults. */
export const engineLimitsConfig = (stackBytes: number) =>
  Effect.gen(function*() {
    const memoryMb = yield* Config.Int("PICLOUD_SANDBOX_MEMORY_MB").pipe(Config.withDefault(defaultLimits.memoryMb))
    const maxLogBytes = yield* Config.Int("PICLOUD_MAX_LOG_BYTES").pipe(Config.withDefault(defaultLimits.maxLogBytes))
    const maxResponseBytes = yield* Config.Int("PICLOUD_MAX_RESPONSE_BYTES").pipe(
      Config.withDefault(defaultLimits.maxResponseBytes)
    )
    const warmScripts = yield* Config.Int("PICLOUD_WARM_SCRIPTS").pipe(Config.withDefault(defaultLimits.warmScripts))
    return { memoryMb, stackBytes, maxLogBytes, maxResponseBytes, warmScripts } satisfies EngineLimits
  })
