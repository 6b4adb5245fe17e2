import { Cause, Duration, Effect } from "effect"
import { MAX_ATTEMPTS_CEILING, retryDelay, type RetryPolicy } from "./RetryPolicy.ts"

/** Restarts of a loop while the database is away: 200 ms doubling to 30 s, jittered. */
const RESTART_POLICY: RetryPolicy = {
  backoff: "exponential",
  initial_delay_ms: 200,
  max_delay_ms: 30_000,
  max_attempts: MAX_ATTEMPTS_CEILING,
  jitter: true
}

/**
 * Runs `step` again and again, forever: how the dispatcher and the scheduler keep their one fiber
 * going. A failure (the database away) is logged as `name` failing, `onFailure` runs, and the loop
 * goes on after a growing, jittered pause; a step that succeeds resets the count. An interruption
 * ends it.
 */
export const restartingLoop = <E, R>(
  name: string,
  step: Effect.Effect<unknown, E, R>,
  onFailure: Effect.Effect<void> = Effect.void
): Effect.Effect<never, never, R> =>
  Effect.gen(function*() {
    let failures = 0
    for (;;) {
      const outcome = yield* step.pipe(Effect.as(undefined), Effect.catchCause((cause) => Effect.succeed(cause)))
      if (outcome === undefined) {
        failures = 0
        continue
      }
      // Interrupted (shutdown): end as interrupted, the only way out.
      if (Cause.hasInterruptsOnly(outcome)) return yield* Effect.failCause(outcome as Cause.Cause<never>)
      failures++
      yield* onFailure
      const pause = (yield* retryDelay(RESTART_POLICY, Math.min(failures, MAX_ATTEMPTS_CEILING - 1))) ??
        Duration.seconds(30)
      yield* Effect.logWarning(
        `${name} failed (${failures} in a row); restarting in ${Duration.format(pause)}`,
        outcome
      )
      yield* Effect.sleep(pause)
    }
  })
