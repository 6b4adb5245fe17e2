import { Config, Duration, Effect } from "effect"

/** How long and how many execution records are kept (README, Configuration). */
export interface ExecutionRetention {
  readonly maxAgeDays: number
  readonly maxCount: number
  /** Pruning runs after a write, at most this often: no timer of its own, so nothing runs when idle. */
  readonly everyMs: number
}

export const executionRetentionConfig = Effect.gen(function*() {
  const maxAgeDays = yield* Config.Int("PICLOUD_EXECUTION_RETENTION_DAYS").pipe(Config.withDefault(7))
  const maxCount = yield* Config.Int("PICLOUD_EXECUTION_RETENTION_COUNT").pipe(Config.withDefault(1_000_000))
  const every = yield* Config.Duration("PICLOUD_EXECUTION_PRUNE_INTERVAL").pipe(Config.withDefault(Duration.minutes(1)))
  return { maxAgeDays, maxCount, everyMs: Duration.toMillis(every) } satisfies ExecutionRetention
})
