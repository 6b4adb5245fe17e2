import { Duration, Effect } from "effect"
import * as Settings from "../config/Settings.ts"

/** How long and how many execution records are kept (README, Configuration). */
export interface ExecutionRetention {
  readonly maxAgeDays: number
  readonly maxCount: number
  /** Pruning runs after a write, at most this often: no timer of its own, so nothing runs when idle. */
  readonly everyMs: number
}

export const executionRetentionConfig = Effect.gen(function*() {
  const maxAgeDays = yield* Settings.executionRetentionDays.config
  const maxCount = yield* Settings.executionRetentionCount.config
  const every = yield* Settings.executionPruneInterval.config
  return { maxAgeDays, maxCount, everyMs: Duration.toMillis(every) } satisfies ExecutionRetention
})
