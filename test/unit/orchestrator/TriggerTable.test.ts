import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { PersistenceError } from "../../../src/domain/Errors.ts"
import { DEFAULT_RETRY_POLICY } from "../../../src/domain/RetryPolicy.ts"
import type { NewTrigger } from "../../../src/domain/Trigger.ts"
import { TriggerChanges } from "../../../src/domain/TriggerChanges.ts"
import { TriggerRepo } from "../../../src/domain/TriggerRepo.ts"
import * as TriggerRepoMemory from "../../../src/manager/TriggerRepoMemory.ts"
import { TriggerTable } from "../../../src/orchestrator/TriggerTable.ts"

const SHOP = "0b4f34e0-0000-4000-8000-00000000000a"
const BLOG = "0b4f34e0-0000-4000-8000-00000000000b"

const trigger = (overrides: Partial<NewTrigger>): NewTrigger => ({
  app_id: SHOP,
  script_id: "0b4f34e0-0000-4000-8000-000000000001",
  key_pattern: "orders/*",
  ops: ["set", "delete"],
  retry: DEFAULT_RETRY_POLICY,
  dead_letter_script_id: null,
  enabled: true,
  registrant_user_id: "0b4f34e0-0000-4000-8000-0000000000aa",
  ...overrides
})

interface Reads {
  /** `list` calls, by app. */
  readonly byApp: Map<string, number>
  /** When set, `list` fails instead. */
  failing: boolean
  /** When set, `list` waits for it after reading. */
  gate: Deferred.Deferred<void> | undefined
}

/** The memory repository, with `list` counted (and able to fail or to wait). */
const countingRepo = (reads: Reads) =>
  Layer.effect(
    TriggerRepo,
    Effect.gen(function*() {
      const real = yield* TriggerRepo
      return TriggerRepo.of({
        ...real,
        list: (appId) =>
          Effect.gen(function*() {
            reads.byApp.set(appId ?? "*", (reads.byApp.get(appId ?? "*") ?? 0) + 1)
            if (reads.failing) return yield* new PersistenceError({ operation: "TriggerRepo.list", cause: "down" })
            const list = yield* real.list(appId)
            if (reads.gate) yield* Deferred.await(reads.gate)
            return list
          })
      })
    })
  ).pipe(Layer.provideMerge(TriggerRepoMemory.layer))

const provide = (reads: Reads) =>
  Effect.provide(
    TriggerTable.layer.pipe(Layer.provideMerge(Layer.mergeAll(countingRepo(reads), TriggerChanges.layer)))
  )

const newReads = (): Reads => ({ byApp: new Map(), failing: false, gate: undefined })

const ids = (list: ReadonlyArray<{ readonly id: string }>) => list.map((t) => t.id)

describe("TriggerTable", () => {
  it.effect("answers the app's enabled triggers for the op whose pattern matches, oldest first", () => {
    const reads = newReads()
    return Effect.gen(function*() {
      const repo = yield* TriggerRepo
      const table = yield* TriggerTable
      const one = yield* repo.create(trigger({ key_pattern: "orders/*" }))
      const all = yield* repo.create(trigger({ key_pattern: "**" }))
      const setsOnly = yield* repo.create(trigger({ key_pattern: "orders/**", ops: ["set"] }))
      yield* repo.create(trigger({ key_pattern: "orders/*", enabled: false }))
      const exact = yield* repo.create(trigger({ key_pattern: "orders/42", ops: ["delete"] }))
      yield* repo.create(trigger({ app_id: BLOG, key_pattern: "**" }))

      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/42", "set")), [one.id, all.id, setsOnly.id])
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/42", "delete")), [one.id, all.id, exact.id])
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/42/items", "set")), [all.id, setsOnly.id])
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "users/1", "delete")), [all.id])
      const [matched] = yield* table.matching(SHOP, "orders/7", "set")
      assert.deepStrictEqual(matched, one, "the trigger as stored: what the fan-out needs")
    }).pipe(provide(reads))
  })

  it.effect("reads an app's triggers once, on its first write, then matches from memory (no triggers included)", () => {
    const reads = newReads()
    return Effect.gen(function*() {
      const repo = yield* TriggerRepo
      const table = yield* TriggerTable
      yield* repo.create(trigger({ key_pattern: "orders/*" }))
      assert.strictEqual(reads.byApp.size, 0, "nothing is read before a write needs it")
      for (let i = 0; i < 100; i++) {
        yield* table.matching(SHOP, `orders/${i}`, i % 2 === 0 ? "set" : "delete")
        yield* table.matching(BLOG, `posts/${i}`, "set")
      }
      assert.deepStrictEqual(Object.fromEntries(reads.byApp), { [SHOP]: 1, [BLOG]: 1 })
    }).pipe(provide(reads))
  })

  it.effect("a change to an app's triggers is seen by the next write, and reads that app again only", () => {
    const reads = newReads()
    return Effect.gen(function*() {
      const repo = yield* TriggerRepo
      const table = yield* TriggerTable
      const changes = yield* TriggerChanges
      const first = yield* repo.create(trigger({ key_pattern: "orders/*" }))
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/1", "set")), [first.id])
      assert.deepStrictEqual(ids(yield* table.matching(BLOG, "posts/1", "set")), [])

      const second = yield* repo.create(trigger({ key_pattern: "orders/**" }))
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/1", "set")), [first.id], "not told yet")
      yield* changes.publish(SHOP)
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/1", "set")), [first.id, second.id])

      yield* repo.update(first.id, { enabled: false, registrant_user_id: first.registrant_user_id })
      yield* changes.publish(SHOP)
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/1", "set")), [second.id])
      yield* repo.delete(second.id)
      yield* changes.publish(SHOP)
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/1", "set")), [])

      yield* table.matching(BLOG, "posts/2", "set")
      assert.deepStrictEqual(Object.fromEntries(reads.byApp), { [SHOP]: 4, [BLOG]: 1 })
    }).pipe(provide(reads))
  })

  it.effect("a failed read is not kept: the write fails, and the next one reads again", () => {
    const reads = newReads()
    return Effect.gen(function*() {
      const repo = yield* TriggerRepo
      const table = yield* TriggerTable
      const created = yield* repo.create(trigger({}))
      reads.failing = true
      const failed = yield* table.matching(SHOP, "orders/1", "set").pipe(Effect.flip)
      assert.strictEqual(failed._tag, "PersistenceError")
      reads.failing = false
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/1", "set")), [created.id])
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/2", "set")), [created.id])
      assert.strictEqual(reads.byApp.get(SHOP), 2)
    }).pipe(provide(reads))
  })

  it.effect("a read under way when the app's triggers change is not kept", () => {
    const reads = newReads()
    return Effect.gen(function*() {
      const repo = yield* TriggerRepo
      const table = yield* TriggerTable
      const changes = yield* TriggerChanges
      const first = yield* repo.create(trigger({}))
      reads.gate = yield* Deferred.make<void>()
      const early = yield* table.matching(SHOP, "orders/1", "set").pipe(Effect.forkChild)
      yield* Effect.yieldNow
      const second = yield* repo.create(trigger({}))
      yield* changes.publish(SHOP)
      yield* Deferred.succeed(reads.gate, undefined)
      reads.gate = undefined
      assert.deepStrictEqual(ids(yield* Fiber.join(early)), [first.id], "it read before the change")
      assert.deepStrictEqual(ids(yield* table.matching(SHOP, "orders/1", "set")), [first.id, second.id])
    }).pipe(provide(reads))
  })
})
