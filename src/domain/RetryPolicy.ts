import { Duration, Effect, Schedule, Schema } from "effect"

const between = (minimum: number, maximum: number, field: string) =>
  Schema.Int.check(
    Schema.isBetween({ minimum, maximum }, { message: `${field} must be an integer from ${minimum} to ${maximum}` })
  )

export const MAX_ATTEMPTS_CEILING = 100

/**
 * How a failed async execution is retried (docs/ARCHITECTURE.md §5): the delay before retry n is
 * `initial_delay_ms` × 2^(n-1) (exponential), × n (linear) or × 1 (constant), capped at
 * `max_delay_ms`, then scaled by a random 0.8–1.2 when `jitter` is on. After `max_attempts` attempts
 * the execution is dead-lettered.
 */
export const RetryPolicy = Schema.Struct({
  backoff: Schema.Literals(["exponential", "linear", "constant"]),
  initial_delay_ms: between(1, 3_600_000, "initial_delay_ms"),
  max_delay_ms: between(1, 86_400_000, "max_delay_ms"),
  max_attempts: between(1, MAX_ATTEMPTS_CEILING, "max_attempts"),
  jitter: Schema.Boolean
})
export type RetryPolicy = typeof RetryPolicy.Type

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  backoff: "exponential",
  initial_delay_ms: 1000,
  max_delay_ms: 300_000,
  max_attempts: 5,
  jitter: true
}

/** A policy as a client sends it: any field left out takes its default. */
export const RetryPolicyInput = Schema.Struct({
  backoff: Schema.optionalKey(RetryPolicy.fields.backoff),
  initial_delay_ms: Schema.optionalKey(RetryPolicy.fields.initial_delay_ms),
  max_delay_ms: Schema.optionalKey(RetryPolicy.fields.max_delay_ms),
  max_attempts: Schema.optionalKey(RetryPolicy.fields.max_attempts),
  jitter: Schema.optionalKey(RetryPolicy.fields.jitter)
})
export type RetryPolicyInput = typeof RetryPolicyInput.Type

export const withRetryDefaults = (input: RetryPolicyInput | undefined): RetryPolicy => ({
  ...DEFAULT_RETRY_POLICY,
  ...input
})

/**
 * The policy's delays as an Effect `Schedule` (one recurrence per retry). Jitter applies after the
 * cap, so retries that reached the cap still spread out (within ±20% of it).
 */
export const retrySchedule = (policy: RetryPolicy): Schedule.Schedule<unknown> => {
  const initial = Duration.millis(policy.initial_delay_ms)
  const shape: Schedule.Schedule<unknown> = policy.backoff === "exponential"
    ? Schedule.exponential(initial, 2)
    : policy.backoff === "linear"
    ? Schedule.spaced(initial).pipe(
      Schedule.modifyDelay(({ attempt, duration }) => Effect.succeed(Duration.times(duration, attempt)))
    )
    : Schedule.spaced(initial)
  const capped: Schedule.Schedule<unknown> = shape.pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.millis(policy.max_delay_ms))))
  )
  const jittered = policy.jitter ? Schedule.jittered(capped) : capped
  return jittered.pipe(Schedule.upTo({ times: policy.max_attempts - 1 }))
}

/**
 * The delay before the next attempt once `attempts` attempts have failed (1 = the first retry):
 * the schedule stepped `attempts` times. `None` when the policy allows no more attempts.
 */
export const retryDelay = (policy: RetryPolicy, attempts: number) =>
  Effect.gen(function*() {
    if (attempts >= policy.max_attempts) return undefined
    const step = yield* Schedule.toStep(retrySchedule(policy))
    let delay = Duration.zero
    for (let n = 0; n < attempts; n++) [, delay] = yield* step(0, undefined)
    return delay
  }).pipe(Effect.catchCause(() => Effect.succeed(undefined)))
