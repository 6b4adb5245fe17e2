import { Effect } from "effect"
import * as Settings from "../config/Settings.ts"
import type { EngineLimits } from "./Engine.ts"

/** The sandbox limits from the environment (README, Configuration), with the documented defaults. */
export const engineLimitsConfig = (stackBytes: number) =>
  Effect.gen(function*() {
    const memoryMb = yield* Settings.sandboxMemoryMb.config
    const maxLogBytes = yield* Settings.maxLogBytes.config
    const maxResponseBytes = yield* Settings.maxResponseBytes.config
    const warmScripts = yield* Settings.warmScripts.config
    const warmMemoryMb = yield* Settings.warmMemoryMb.config
    const maxHostCalls = yield* Settings.kvMaxOpsPerExecution.config
    return {
      memoryMb,
      stackBytes,
      maxLogBytes,
      maxResponseBytes,
      warmScripts,
      warmMemoryMb,
      maxHostCalls
    } satisfies EngineLimits
  })
