import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { LoginThrottle, MAX_FAILURES, MAX_TRACKED } from "../../../src/manager/http/LoginThrottle.ts"

const fail = (throttle: LoginThrottle["Service"], username: string, times: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < times; i++) yield* throttle.failed(username)
  })

describe("LoginThrottle", () => {
  it.effect("five failures lock a username out for the rest of the window; a success clears it", () =>
    Effect.gen(function*() {
      const throttle = yield* LoginThrottle
      yield* fail(throttle, "alice", MAX_FAILURES - 1)
      assert.strictEqual(yield* throttle.retryAfter("alice"), 0)
      yield* throttle.failed("alice")
      assert.strictEqual(yield* throttle.retryAfter("alice"), 15 * 60)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* throttle.retryAfter("alice"), 5 * 60)
      assert.strictEqual(yield* throttle.retryAfter("bob"), 0, "per username")
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(yield* throttle.retryAfter("alice"), 0)
      yield* fail(throttle, "bob", 3)
      yield* throttle.succeeded("bob")
      yield* fail(throttle, "bob", MAX_FAILURES - 1)
      assert.strictEqual(yield* throttle.retryAfter("bob"), 0)
    }).pipe(Effect.provide(LoginThrottle.layer)))

  it.effect("entries expire: once their window has passed, nothing of them is kept", () =>
    Effect.gen(function*() {
      const throttle = yield* LoginThrottle
      for (let i = 0; i < 1000; i++) yield* throttle.failed(`user-${i}`)
      assert.strictEqual(yield* throttle.size, 1000)
      yield* TestClock.adjust("15 minutes")
      yield* throttle.failed("late")
      assert.strictEqual(yield* throttle.size, 1)
    }).pipe(Effect.provide(LoginThrottle.layer)))

  it.effect("a flood of distinct usernames is capped, keeps lockouts, and locks nobody else out", () =>
    Effect.gen(function*() {
      const throttle = yield* LoginThrottle
      yield* fail(throttle, "locked", MAX_FAILURES)
      yield* fail(throttle, "partial", 2)
      for (let i = 0; i < 2 * MAX_TRACKED; i++) yield* throttle.failed(`flood-${i}`)
      assert.strictEqual(yield* throttle.size, MAX_TRACKED)
      assert.isAbove(yield* throttle.retryAfter("locked"), 0, "a lockout outlives the flood")
      for (const username of ["partial", "never-seen", "flood-0", `flood-${2 * MAX_TRACKED - 1}`]) {
        assert.strictEqual(yield* throttle.retryAfter(username), 0, username)
      }
      yield* throttle.failed("newcomer")
      assert.strictEqual(yield* throttle.retryAfter("newcomer"), 0, "a full table refuses no one")
      yield* fail(throttle, "newcomer", MAX_FAILURES - 1)
      assert.isAbove(yield* throttle.retryAfter("newcomer"), 0, "and still counts new failures")
    }).pipe(Effect.provide(LoginThrottle.layer)))
})
