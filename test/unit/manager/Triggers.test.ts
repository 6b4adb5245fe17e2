import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import type { Principal } from "../../../src/domain/Identity.ts"
import { RouteChanges } from "../../../src/domain/RouteChanges.ts"
import { ScriptChanges } from "../../../src/domain/ScriptChanges.ts"
import { TriggerChanges } from "../../../src/domain/TriggerChanges.ts"
import * as ExecutorInline from "../../../src/executor/ExecutorInline.ts"
import { Apps } from "../../../src/manager/Apps.ts"
import { Scripts } from "../../../src/manager/Scripts.ts"
import { Triggers } from "../../../src/manager/Triggers.ts"
import { TriggerTable } from "../../../src/orchestrator/TriggerTable.ts"
import * as StorageMemory from "../../../src/runtime/StorageMemory.ts"

/** The write services and the trigger table on one change feed, on memory storage. */
const provide = Effect.provide(
  Layer.mergeAll(Triggers.layer, Scripts.layer, Apps.layer).pipe(
    Layer.provideMerge(TriggerTable.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        StorageMemory.layer,
        ExecutorInline.layer,
        ScriptChanges.layer,
        RouteChanges.layer,
        TriggerChanges.layer
      )
    ),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
  ),
  { local: true }
)

const principal = (role: Principal["role"], apps: ReadonlyArray<string> = []): Principal => ({
  user_id: "0b4f34e0-0000-4000-8000-0000000000aa",
  username: "someone",
  role,
  apps
})
const ADMIN = principal("admin")

const world = Effect.gen(function*() {
  const app = yield* (yield* Apps).create({ name: "shop" })
  const scripts = yield* Scripts
  const run = yield* scripts.create({ app_id: app.id, name: "run", source: "export default () => 1" })
  const handler = yield* scripts.create({ app_id: app.id, name: "handler", source: "export default () => 1" })
  return { app, run, handler }
})

describe("Triggers (write service) and the trigger table", () => {
  it.effect("every trigger write reaches the table before it returns", () =>
    Effect.gen(function*() {
      const triggers = yield* Triggers
      const table = yield* TriggerTable
      const { app } = yield* world
      const matching = (key: string) => table.matching(app.id, key, "set").pipe(Effect.map((l) => l.map((t) => t.id)))
      assert.deepStrictEqual(yield* matching("orders/1"), [], "read once: no triggers yet")

      const created = yield* triggers.create(ADMIN, app.id, { script: "run", key_pattern: "orders/*" })
      assert.deepStrictEqual(yield* matching("orders/1"), [created.id])
      const moved = yield* triggers.update(ADMIN, created, { key_pattern: "users/*" })
      assert.deepStrictEqual(yield* matching("orders/1"), [])
      assert.deepStrictEqual(yield* matching("users/1"), [created.id])
      yield* triggers.update(ADMIN, moved, { ops: ["delete"] })
      assert.deepStrictEqual(yield* matching("users/1"), [])
      const back = yield* triggers.update(ADMIN, moved, { ops: ["set"], enabled: false })
      assert.deepStrictEqual(yield* matching("users/1"), [])
      yield* triggers.update(ADMIN, back, { enabled: true })
      assert.deepStrictEqual(yield* matching("users/1"), [created.id])
      yield* triggers.delete(ADMIN, back)
      assert.deepStrictEqual(yield* matching("users/1"), [])
    }).pipe(provide))

  it.effect("deleting the script a trigger runs, or the app, takes it off the table; deleting its handler does not", () =>
    Effect.gen(function*() {
      const triggers = yield* Triggers
      const scripts = yield* Scripts
      const table = yield* TriggerTable
      const { app, run } = yield* world
      const matching = (key: string) => table.matching(app.id, key, "set")
      const runs = yield* triggers.create(ADMIN, app.id, { script: "run", key_pattern: "a" })
      const handled = yield* triggers.create(ADMIN, app.id, {
        script: "handler",
        key_pattern: "a",
        dead_letter_script: "run"
      })
      assert.strictEqual((yield* matching("a")).length, 2)
      yield* scripts.delete(run)
      const [left] = yield* matching("a")
      assert.deepStrictEqual([left?.id, left?.dead_letter_script_id], [handled.id, null])
      assert.notStrictEqual(left?.id, runs.id)
      yield* (yield* Apps).delete(app, { force: true })
      assert.deepStrictEqual(yield* matching("a"), [])
    }).pipe(provide))

  it.effect("only those who manage the app may write its triggers; a bad pattern is refused by the service too", () =>
    Effect.gen(function*() {
      const triggers = yield* Triggers
      const { app } = yield* world
      const input = { script: "run", key_pattern: "a" }
      for (const who of [principal("developer", ["elsewhere"]), principal("invoker", [app.id])]) {
        assert.strictEqual((yield* triggers.create(who, app.id, input).pipe(Effect.flip))._tag, "AppNotFound")
      }
      const mine = yield* triggers.create(principal("developer", [app.id]), app.id, input)
      const outsider = principal("developer", [])
      assert.strictEqual((yield* triggers.update(outsider, mine, {}).pipe(Effect.flip))._tag, "AppNotFound")
      assert.strictEqual((yield* triggers.delete(outsider, mine).pipe(Effect.flip))._tag, "AppNotFound")
      const bad = yield* triggers.create(ADMIN, app.id, { ...input, key_pattern: "a**" }).pipe(Effect.flip)
      assert.strictEqual(bad._tag, "TriggerPatternInvalid")
    }).pipe(provide))
})
