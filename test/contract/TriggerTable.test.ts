import { assert, layer } from "@effect/vitest"
import { Data, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import { DEFAULT_RETRY_POLICY } from "../../src/domain/RetryPolicy.ts"
import { ScriptRepo } from "../../src/domain/ScriptRepo.ts"
import { TriggerChanges } from "../../src/domain/TriggerChanges.ts"
import { TriggerRepo } from "../../src/domain/TriggerRepo.ts"
import * as AppRepoSql from "../../src/manager/AppRepoSql.ts"
import * as ScriptRepoSql from "../../src/manager/ScriptRepoSql.ts"
import * as TriggerRepoSql from "../../src/manager/TriggerRepoSql.ts"
import { TriggerTable } from "../../src/orchestrator/TriggerTable.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

/** Ends a transaction on purpose, carrying what was read inside it. */
class RolledBack extends Data.TaggedError("RolledBack")<{ readonly ids: ReadonlyArray<string> }> {}

const Table = TriggerTable.layer.pipe(
  Layer.provideMerge(
    Layer.mergeAll(TriggerRepoSql.layer, ScriptRepoSql.layer, AppRepoSql.layer, TriggerChanges.layer)
  ),
  Layer.provideMerge(TestDatabase)
)

layer(Table, { timeout: "60 seconds" })("TriggerTable (sql)", (it) => {
  it.effect("reads committed triggers on its own connection, even when called inside a transaction", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const table = yield* TriggerTable
      const triggers = yield* TriggerRepo
      const app = yield* (yield* AppRepo).create({ name: `table-${Date.now().toString(36)}` })
      const script = yield* (yield* ScriptRepo).create({ app_id: app.id, name: "run", source: "x" })
      const input = {
        app_id: app.id,
        script_id: script.id,
        key_pattern: "orders/*",
        ops: ["set" as const],
        retry: DEFAULT_RETRY_POLICY,
        dead_letter_script_id: null,
        enabled: true,
        registrant_user_id: "0b4f34e0-0000-4000-8000-0000000000aa"
      }
      const committed = yield* triggers.create(input)
      const rolledBack = yield* Effect.gen(function*() {
        // Written in this transaction and never committed: a read on its connection would see it.
        yield* triggers.create({ ...input, key_pattern: "orders/**" })
        const found = yield* table.matching(app.id, "orders/1", "set")
        return yield* Effect.fail(new RolledBack({ ids: found.map((t) => t.id) }))
      }).pipe(sql.withTransaction, Effect.flip)
      assert.strictEqual(rolledBack._tag, "RolledBack", String(rolledBack))
      assert.deepStrictEqual(rolledBack._tag === "RolledBack" ? rolledBack.ids : [], [committed.id])
      assert.deepStrictEqual((yield* table.matching(app.id, "orders/1", "set")).map((t) => t.id), [committed.id])
    }))
})
