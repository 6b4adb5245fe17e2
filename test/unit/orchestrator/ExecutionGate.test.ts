import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Fiber, Layer } from "effect"
import { ExecutionGate } from "../../../src/orchestrator/ExecutionGate.ts"

const withLimit = (limit: string) =>
  ExecutionGate.layer.pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_MAX_CONCURRENT_EXECUTIONS: limit })))
  )

describe("ExecutionGate", () => {
  it.effect("refuses at once when full, with no queue, and admits again when a permit returns", () =>
    Effect.gen(function*() {
      const gate = yield* ExecutionGate
      assert.strictEqual(gate.limit, 2)
      const release = yield* Deferred.make<void>()
      assert.strictEqual(yield* gate.available, 2)
      const holders = yield* Effect.forEach([1, 2], () => gate.run(Deferred.await(release)).pipe(Effect.forkChild))
      yield* Effect.yieldNow
      assert.strictEqual(yield* gate.available, 0)
      const refused = yield* gate.run(Effect.succeed("ran")).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "Overloaded")
      assert.strictEqual(refused.limit, 2)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.joinAll(holders)
      assert.strictEqual(yield* gate.available, 2)
      assert.strictEqual(yield* gate.run(Effect.succeed("ran")), "ran")
    }).pipe(Effect.provide(withLimit("2"))))

  it.effect("the permit returns however the execution ends: failure, defect, interruption", () =>
    Effect.gen(function*() {
      const gate = yield* ExecutionGate
      yield* gate.run(Effect.fail("boom")).pipe(Effect.flip)
      yield* gate.run(Effect.die("defect")).pipe(Effect.exit)
      const hung = yield* gate.run(Effect.never).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      assert.strictEqual((yield* gate.run(Effect.void).pipe(Effect.flip))._tag, "Overloaded")
      yield* Fiber.interrupt(hung)
      assert.strictEqual(yield* gate.available, 1)
      assert.strictEqual(yield* gate.run(Effect.succeed(1)), 1)
    }).pipe(Effect.provide(withLimit("1"))))

  it.effect("an async execution waits for a permit and is handed the next one released, ahead of sync callers", () =>
    Effect.gen(function*() {
      const gate = yield* ExecutionGate
      const release = yield* Deferred.make<void>()
      const holder = yield* gate.run(Deferred.await(release)).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      const queued = yield* gate.runQueued(Effect.succeed("async ran")).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      assert.strictEqual(yield* gate.queued, 1)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      assert.strictEqual(yield* Fiber.join(queued), "async ran")
      assert.strictEqual(yield* gate.queued, 0)
      assert.strictEqual(yield* gate.available, 1)

      // Handed over, not returned to the pool: a sync caller arriving then is refused.
      const again = yield* Deferred.make<void>()
      const second = yield* gate.run(Deferred.await(again)).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      const waiting = yield* gate.runQueued(Effect.never).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      yield* Deferred.succeed(again, undefined)
      yield* Fiber.join(second)
      assert.strictEqual((yield* gate.run(Effect.void).pipe(Effect.flip))._tag, "Overloaded")
      yield* Fiber.interrupt(waiting)
      assert.strictEqual(yield* gate.available, 1, "the permit comes back when the async execution ends")
    }).pipe(Effect.provide(withLimit("1"))))

  it.effect("an async execution interrupted while it waits leaves the queue and takes no permit", () =>
    Effect.gen(function*() {
      const gate = yield* ExecutionGate
      const release = yield* Deferred.make<void>()
      const holder = yield* gate.run(Deferred.await(release)).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      const waiting = yield* gate.runQueued(Effect.succeed("never")).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      yield* Fiber.interrupt(waiting)
      assert.strictEqual(yield* gate.queued, 0)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      assert.strictEqual(yield* gate.available, 1)
    }).pipe(Effect.provide(withLimit("1"))))

  it.effect("defaults to 32 and refuses a limit below 1", () =>
    Effect.gen(function*() {
      const gate = yield* ExecutionGate.pipe(Effect.provide(ExecutionGate.layer))
      assert.strictEqual(gate.limit, 32)
      const bad = yield* ExecutionGate.pipe(Effect.provide(withLimit("0")), Effect.exit)
      assert.strictEqual(bad._tag, "Failure")
    }))
})
