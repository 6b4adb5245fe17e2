import { assert, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { NotifyBus } from "../../src/db/NotifyBus.ts"
import { type ChangeFeed, EVERYTHING } from "../../src/domain/ChangeFeed.ts"
import { IdentityChanges } from "../../src/domain/IdentityChanges.ts"
import { InboxResolver } from "../../src/domain/InboxResolver.ts"
import { RouteChanges } from "../../src/domain/RouteChanges.ts"
import { ScriptChanges } from "../../src/domain/ScriptChanges.ts"
import { SecretChanges } from "../../src/domain/SecretChanges.ts"
import { TriggerChanges } from "../../src/domain/TriggerChanges.ts"
import * as ClusterDelivery from "../../src/runtime/ClusterDelivery.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

/** Two processes' delivery on one database: each its own layer (its own LISTEN, its own origin). */
const twoProcesses = Effect.gen(function*() {
  const a = yield* Layer.build(Layer.fresh(ClusterDelivery.layer))
  const b = yield* Layer.build(Layer.fresh(ClusterDelivery.layer))
  // Each listens before the test publishes (its first connection takes a moment).
  yield* Context.get(a, NotifyBus).listening
  yield* Context.get(b, NotifyBus).listening
  return { a, b }
})

/** Within `ms` of real time, or a failure naming what did not arrive. */
const within = <A>(ms: number, what: string, effect: Effect.Effect<A>) =>
  effect.pipe(
    Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.die(new Error(`${what} did not arrive in ${ms} ms`)) })
  )

layer(TestDatabase, { timeout: "60 seconds", excludeTestServices: true })(
  "ClusterDelivery: change feeds and the inbox across processes",
  (it) => {
    it.effect("a change published in one process reaches the other's listeners within a second, for every feed", () =>
      Effect.gen(function*() {
        const { a, b } = yield* twoProcesses
        const feeds: ReadonlyArray<readonly [string, Context.Key<any, ChangeFeed<string>>]> = [
          ["scripts", ScriptChanges],
          ["routes", RouteChanges],
          ["triggers", TriggerChanges],
          ["secrets", SecretChanges],
          ["identities", IdentityChanges]
        ]
        for (const [name, tag] of feeds) {
          const [inA, inB] = [Context.get(a, tag), Context.get(b, tag)]
          const there = Deferred.makeUnsafe<string>()
          const heardHere: Array<string> = []
          yield* inA.listen((id) => Effect.sync(() => void heardHere.push(id)))
          yield* inB.listen((id) => Deferred.succeed(there, id).pipe(Effect.asVoid))
          yield* inA.publish(`${name}-changed`)
          // The publisher's own listeners ran before publish returned (as in one process)...
          assert.deepStrictEqual(heardHere, [`${name}-changed`])
          // ...and the other process's run when the note arrives.
          assert.strictEqual(yield* within(1000, name, Deferred.await(there)), `${name}-changed`)
          // A process does not hear its own notes a second time.
          yield* Effect.sleep("200 millis")
          assert.deepStrictEqual(heardHere, [`${name}-changed`], `${name}: no echo`)
        }
      }))

    it.effect("after its LISTEN connection is lost, a process listens again and drops everything (notes were missed)", () =>
      Effect.gen(function*() {
        const { b } = yield* twoProcesses
        const heard = Deferred.makeUnsafe<string>()
        yield* Context.get(b, ScriptChanges).listen((id) => Deferred.succeed(heard, id).pipe(Effect.asVoid))
        const sql = yield* SqlClient.SqlClient
        // As a database restart or a network cut would: the server ends every listening connection.
        const ended = yield* sql<{ pid: number }>`
        SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity
        WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`
        assert.isAbove(ended.length, 0)
        assert.strictEqual(yield* within(10_000, "the change of everything", Deferred.await(heard)), EVERYTHING)
      }))

    it.effect("a ?wait parked in one process wakes when another delivers the execution's end; others stay parked", () =>
      Effect.gen(function*() {
        const { a, b } = yield* twoProcesses
        const [inboxA, inboxB] = [Context.get(a, InboxResolver), Context.get(b, InboxResolver)]
        const waiting = yield* inboxB.register("exec-1")
        const other = yield* inboxB.register("exec-2")
        const woken = yield* Effect.forkChild(waiting)
        const notWoken = yield* Effect.forkChild(other)
        yield* inboxA.deliver("exec-1")
        yield* within(1000, "the inbox note", Fiber.join(woken))
        yield* Effect.sleep("200 millis")
        assert.isUndefined(notWoken.pollUnsafe(), "another execution's caller is still parked")
        yield* Fiber.interrupt(notWoken)
      }))
  }
)
