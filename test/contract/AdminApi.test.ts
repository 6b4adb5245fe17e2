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
})
