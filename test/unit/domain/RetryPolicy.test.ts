import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { retryDelay, type RetryPolicy, retrySchedule } from "../../../src/domain/RetryPolicy.ts"

const policy = (overrides: Partial<RetryPolicy>): RetryPolicy => ({
  backoff: "exponential",
  initial_delay_ms: 100,
  max_delay_ms: 1000,
  max_attempts: 7,
  jitter: false,
  ...overrides
})

/** Runs an always-failing effect under the policy on the TestClock: the gaps between its attempts. */
const gapsBetweenAttempts = (retry: RetryPolicy) =>
  Effect.gen(function*() {
    const attempts: Array<number> = []
    const failing = Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => {
        attempts.push(now)
        return Effect.fail("boom")
      })
    )
    const fiber = yield* failing.pipe(Effect.retry(retrySchedule(retry)), Effect.forkChild)
    yield* TestClock.adjust("1 hour")
    const exit = yield* Fiber.await(fiber)
    assert.strictEqual(exit._tag, "Failure", "gives up after max_attempts")
    return attempts.slice(1).map((at, i) => at - attempts[i]!)
  })

describe("retry policies (Effect Schedule, on the TestClock)", () => {
  it.effect("exponential doubles from the initial delay up to the cap; max_attempts attempts in all", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* gapsBetweenAttempts(policy({ backoff: "exponential" })), [
        100,
        200,
        400,
        800,
        1000,
        1000
      ])
    }))

  it.effect("linear grows by the initial delay each retry, up to the cap", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* gapsBetweenAttempts(policy({ backoff: "linear", initial_delay_ms: 300, max_attempts: 6 })),
        [300, 600, 900, 1000, 1000]
      )
    }))

  it.effect("constant waits the same each time; one attempt means no retry", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* gapsBetweenAttempts(policy({ backoff: "constant", initial_delay_ms: 250, max_attempts: 4 })),
        [250, 250, 250]
      )
      assert.deepStrictEqual(yield* gapsBetweenAttempts(policy({ max_attempts: 1 })), [])
    }))

  it.effect("jitter scales each delay by 0.8–1.2, after the cap, and varies", () =>
    Effect.gen(function*() {
      for (const backoff of ["exponential", "linear", "constant"] as const) {
        const gaps = yield* gapsBetweenAttempts(policy({ backoff, jitter: true, max_attempts: 40 }))
        const nominal = yield* gapsBetweenAttempts(policy({ backoff, jitter: false, max_attempts: 40 }))
        gaps.forEach((gap, i) => {
          const ratio = gap / nominal[i]!
          assert.isTrue(ratio >= 0.8 && ratio <= 1.2, `${backoff} retry ${i + 1}: ${gap} ms against ${nominal[i]} ms`)
        })
        assert.isTrue(new Set(gaps.slice(-10)).size > 1, `${backoff}: capped delays still spread out`)
      }
    }))

  it.effect("retryDelay is the schedule's delay for the next attempt, and none once attempts are used up", () =>
    Effect.gen(function*() {
      const exponential = policy({ max_attempts: 5 })
      const delays = []
      for (let failed = 1; failed <= 5; failed++) {
        const delay = yield* retryDelay(exponential, failed)
        delays.push(delay === undefined ? undefined : Duration.toMillis(delay))
      }
      assert.deepStrictEqual(delays, [100, 200, 400, 800, undefined])
    }))
})
