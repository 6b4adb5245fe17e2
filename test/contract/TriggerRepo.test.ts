import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import { DEFAULT_RETRY_POLICY } from "../../src/domain/RetryPolicy.ts"
import { ScriptRepo } from "../../src/domain/ScriptRepo.ts"
import type { NewTrigger } from "../../src/domain/Trigger.ts"
import { TriggerRepo } from "../../src/domain/TriggerRepo.ts"
import * as AppRepoMemory from "../../src/manager/AppRepoMemory.ts"
import * as AppRepoSql from "../../src/manager/AppRepoSql.ts"
import * as ScriptRepoMemory from "../../src/manager/ScriptRepoMemory.ts"
import * as ScriptRepoSql from "../../src/manager/ScriptRepoSql.ts"
import * as TriggerRepoMemory from "../../src/manager/TriggerRepoMemory.ts"
import * as TriggerRepoSql from "../../src/manager/TriggerRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`

/** A user id that names no user: a trigger keeps its registrant's id whatever becomes of the user. */
const REGISTRANT = "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"
const OTHER_USER = "0b4f34e0-0000-4000-8000-0000000000aa"
const UNKNOWN_ID = "5d7a9c1e-2b3f-4e6d-8a9b-0c1d2e3f4a5b"

/** A fresh app with two scripts, `run` and `handler`, and a trigger input for them. */
const world = Effect.gen(function*() {
  const app = yield* (yield* AppRepo).create({ name: unique("triggers") })
  const scripts = yield* ScriptRepo
  const run = yield* scripts.create({ app_id: app.id, name: "run", source: "x" })
  const handler = yield* scripts.create({ app_id: app.id, name: "handler", source: "x" })
  const input: NewTrigger = {
    app_id: app.id,
    script_id: run.id,
    key_pattern: "orders/**",
    ops: ["set", "delete"],
    retry: DEFAULT_RETRY_POLICY,
    dead_letter_script_id: handler.id,
    enabled: true,
    registrant_user_id: REGISTRANT
  }
  return { app, run, handler, input }
})

type Layers = TriggerRepo | ScriptRepo | AppRepo

/** `foreignKeys`: the store itself refuses what the write service checks first (PostgreSQL). */
const contract = (name: string, repoLayer: Layer.Layer<Layers, unknown>, { foreignKeys }: { foreignKeys: boolean }) =>
  layer(repoLayer, { timeout: "60 seconds" })(`TriggerRepo (${name})`, (it) => {
    it.effect("create gives back what was stored, with an id and both dates; get and list (by app, oldest first) agree", () =>
      Effect.gen(function*() {
        const triggers = yield* TriggerRepo
        const { app, input } = yield* world
        const first = yield* triggers.create(input)
        assert.deepInclude(first, input)
        assert.match(first.id, /^[0-9a-f-]{36}$/)
        assert.strictEqual(first.created_at, first.updated_at)
        assert.isFalse(Number.isNaN(Date.parse(first.created_at)))
        assert.deepStrictEqual(yield* triggers.get(first.id), first)
        assert.deepStrictEqual(yield* triggers.get(first.id.toUpperCase()), first, "ids are UUIDs in any case")

        const retry = {
          backoff: "linear" as const,
          initial_delay_ms: 50,
          max_delay_ms: 400,
          max_attempts: 3,
          jitter: false
        }
        const second = yield* triggers.create({
          ...input,
          key_pattern: "users/*/profile",
          ops: ["delete"],
          retry,
          dead_letter_script_id: null,
          enabled: false
        })
        assert.deepStrictEqual(second.ops, ["delete"])
        assert.deepStrictEqual(second.retry, retry)
        assert.isNull(second.dead_letter_script_id)
        assert.isFalse(second.enabled)
        assert.deepStrictEqual((yield* triggers.list(app.id)).map((t) => t.id), [first.id, second.id])
        assert.includeMembers((yield* triggers.list()).map((t) => t.id), [first.id, second.id])
        assert.deepStrictEqual(yield* triggers.list(UNKNOWN_ID), [])
        assert.deepStrictEqual(yield* triggers.list("not-a-uuid"), [])
      }))

    it.effect("update changes only the fields given, always the registrant and updated_at; null clears the handler", () =>
      Effect.gen(function*() {
        const triggers = yield* TriggerRepo
        const { input, handler } = yield* world
        const created = yield* triggers.create(input)
        const renamed = yield* triggers.update(created.id, { key_pattern: "orders/*", registrant_user_id: OTHER_USER })
        assert.deepStrictEqual(
          { ...renamed, updated_at: created.updated_at },
          { ...created, key_pattern: "orders/*", registrant_user_id: OTHER_USER }
        )
        assert.isTrue(renamed.updated_at >= created.updated_at)
        assert.deepStrictEqual(yield* triggers.get(created.id), renamed)

        const changed = yield* triggers.update(created.id, {
          script_id: handler.id,
          ops: ["set"],
          retry: { ...DEFAULT_RETRY_POLICY, max_attempts: 1 },
          dead_letter_script_id: null,
          enabled: false,
          registrant_user_id: REGISTRANT
        })
        assert.deepInclude(changed, {
          script_id: handler.id,
          key_pattern: "orders/*",
          ops: ["set"],
          retry: { ...DEFAULT_RETRY_POLICY, max_attempts: 1 },
          dead_letter_script_id: null,
          enabled: false,
          registrant_user_id: REGISTRANT
        })
        assert.strictEqual(changed.created_at, created.created_at)
        const missing = yield* triggers.update(UNKNOWN_ID, { registrant_user_id: REGISTRANT }).pipe(Effect.flip)
        assert.strictEqual(missing._tag, "TriggerNotFound")
        const malformed = yield* triggers.update("not-a-uuid", { registrant_user_id: REGISTRANT }).pipe(Effect.flip)
        assert.strictEqual(malformed._tag, "TriggerNotFound")
      }))

    it.effect("delete, and unknown or malformed ids, are TriggerNotFound", () =>
      Effect.gen(function*() {
        const triggers = yield* TriggerRepo
        const { input } = yield* world
        const created = yield* triggers.create(input)
        yield* triggers.delete(created.id)
        for (const id of [created.id, UNKNOWN_ID, "not-a-uuid"]) {
          assert.strictEqual((yield* triggers.get(id).pipe(Effect.flip))._tag, "TriggerNotFound", id)
          assert.strictEqual((yield* triggers.delete(id).pipe(Effect.flip))._tag, "TriggerNotFound", id)
        }
      }))

    it.effect("deleteForScript removes the triggers that run the script and clears it as a dead-letter handler", () =>
      Effect.gen(function*() {
        const triggers = yield* TriggerRepo
        const scripts = yield* ScriptRepo
        const { app, run, handler, input } = yield* world
        const runs = yield* triggers.create(input)
        const handled = yield* triggers.create({ ...input, script_id: handler.id, dead_letter_script_id: run.id })
        const unrelated = yield* triggers.create({ ...input, script_id: handler.id, dead_letter_script_id: null })

        yield* triggers.deleteForScript(run.id)
        yield* scripts.delete(run.id)
        assert.strictEqual((yield* triggers.get(runs.id).pipe(Effect.flip))._tag, "TriggerNotFound")
        const cleared = yield* triggers.get(handled.id)
        assert.isNull(cleared.dead_letter_script_id)
        assert.strictEqual(cleared.script_id, handler.id)
        assert.deepStrictEqual(yield* triggers.get(unrelated.id), unrelated)
        assert.deepStrictEqual((yield* triggers.list(app.id)).map((t) => t.id), [handled.id, unrelated.id])
      }))

    if (!foreignKeys) return

    it.effect("both scripts must be the app's; a trigger goes with the script it runs and with its app", () =>
      Effect.gen(function*() {
        const triggers = yield* TriggerRepo
        const scripts = yield* ScriptRepo
        const apps = yield* AppRepo
        const { run, handler, input } = yield* world
        const elsewhere = yield* world
        const refused = [
          { ...input, script_id: elsewhere.run.id },
          { ...input, dead_letter_script_id: elsewhere.handler.id },
          { ...input, script_id: UNKNOWN_ID }
        ]
        for (const bad of refused) {
          assert.strictEqual((yield* triggers.create(bad).pipe(Effect.flip))._tag, "PersistenceError")
        }
        const created = yield* triggers.create(input)
        const foreign = yield* triggers.update(created.id, {
          dead_letter_script_id: elsewhere.handler.id,
          registrant_user_id: REGISTRANT
        }).pipe(Effect.flip)
        assert.strictEqual(foreign._tag, "PersistenceError")

        const named = yield* scripts.delete(handler.id).pipe(Effect.flip)
        assert.strictEqual(named._tag, "PersistenceError", "a handler still named by a trigger is cleared first")
        yield* scripts.delete(run.id)
        assert.strictEqual((yield* triggers.get(created.id).pipe(Effect.flip))._tag, "TriggerNotFound")

        // Scripts and triggers go with their app in one statement: the handler's key holds at its end.
        const withHandler = yield* triggers.create(elsewhere.input)
        yield* apps.delete(elsewhere.app.id)
        assert.strictEqual((yield* triggers.get(withHandler.id).pipe(Effect.flip))._tag, "TriggerNotFound")
      }))
  })

contract("memory", Layer.mergeAll(TriggerRepoMemory.layer, ScriptRepoMemory.layer, AppRepoMemory.layer), {
  foreignKeys: false
})
contract(
  "sql",
  Layer.mergeAll(TriggerRepoSql.layer, ScriptRepoSql.layer, AppRepoSql.layer).pipe(Layer.provideMerge(TestDatabase)),
  { foreignKeys: true }
)
