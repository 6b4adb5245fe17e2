import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { makeSqlPlatform } from "./sqlPlatform.ts"

const { database, platform } = makeSqlPlatform()

/** Makes the script's stored source too large for the PostgreSQL client to read (its cap is 16 MiB). */
const inflate = (scriptId: string) =>
  Effect.promise(() =>
    database.runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE script_versions SET source = repeat('x', 17 * 1024 * 1024) WHERE script_id = ${scriptId}`
    }))
  )

describe("admin API on PostgreSQL", () => {
  it.live("a script whose stored source cannot be read can still be updated and deleted", () =>
    Effect.gen(function*() {
      const call = yield* platform
      const created = yield* call("POST", "/api/admin/scripts", {
        body: { name: "huge", source: "export default () => 1" }
      })
      assert.strictEqual(created.status, 201, created.text)
      yield* inflate(created.json.id)
      const updated = yield* call("PUT", `/api/admin/scripts/${created.json.id}`, {
        body: { source: "export default () => 2" }
      })
      assert.strictEqual(updated.status, 200, updated.text)
      assert.strictEqual(updated.json.version, 2)
      yield* inflate(created.json.id)
      const deleted = yield* call("DELETE", `/api/admin/scripts/${created.json.id}`)
      assert.strictEqual(deleted.status, 204, deleted.text)
      assert.strictEqual((yield* call("GET", `/api/admin/scripts/${created.json.id}`)).status, 404)
    }))

  it.live("triggers: deleting a script clears it as a handler and takes the triggers that run it; deleting the app takes the rest", () =>
    Effect.gen(function*() {
      const call = yield* platform
      const source = "export default () => 1"
      assert.strictEqual((yield* call("POST", "/api/admin/apps", { body: { name: "trig" } })).status, 201)
      const scripts: Record<string, string> = {}
      for (const name of ["run", "handler"]) {
        const created = yield* call("POST", "/api/admin/scripts", { body: { app: "trig", name, source } })
        assert.strictEqual(created.status, 201, created.text)
        scripts[name] = created.json.id
      }
      const trigger = (body: Record<string, unknown>) =>
        call("POST", "/api/admin/triggers", { body: { app: "trig", key_pattern: "orders/**", ...body } })
      const runs = yield* trigger({ script: "run", dead_letter_script: "handler" })
      const handled = yield* trigger({ script: "handler", dead_letter_script: "run" })
      assert.strictEqual(runs.status, 201, runs.text)
      assert.strictEqual(handled.status, 201, handled.text)

      assert.strictEqual((yield* call("DELETE", `/api/admin/scripts/${scripts.run}`)).status, 204)
      assert.strictEqual((yield* call("GET", `/api/admin/triggers/${runs.json.id}`)).status, 404)
      const kept = yield* call("GET", `/api/admin/triggers/${handled.json.id}`)
      assert.strictEqual(kept.status, 200, kept.text)
      assert.isNull(kept.json.dead_letter_script_id)

      const again = yield* trigger({ script: "handler", dead_letter_script: "handler" })
      assert.strictEqual(again.status, 201, again.text)
      assert.strictEqual((yield* call("DELETE", "/api/admin/apps/trig?force=true")).status, 204)
      assert.deepStrictEqual((yield* call("GET", "/api/admin/triggers")).json.items, [])
    }))
})
