import { Effect, Layer, Option, Schema, Struct } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import { randomUUID } from "node:crypto"
import { byUuid, persistence, Timestamp } from "../db/persistence.ts"
import { TriggerNotFound } from "../domain/Errors.ts"
import { Trigger } from "../domain/Trigger.ts"
import { TriggerRepo } from "../domain/TriggerRepo.ts"

/** A `triggers` row as `COLUMNS` selects it: the domain's Trigger (`ops`, `retry` are jsonb, parsed by the driver). */
const TriggerRow = Schema.Struct({ ...Trigger.fields, created_at: Timestamp, updated_at: Timestamp })

const COLUMNS = "id, app_id, script_id, key_pattern, ops, retry, dead_letter_script_id, enabled, registrant_user_id, " +
  "created_at, updated_at"

/** What `write` stores over a row: every field a trigger's owner sets. */
const Fields = Trigger.mapFields(Struct.omit(["created_at", "updated_at"]))

/**
 * Triggers in PostgreSQL (`triggers`). They go with their app and with the script they run (foreign
 * keys on `(app_id, script_id)`); `deleteForScript` does the same explicitly, and clears a deleted
 * dead-letter handler, so both stores behave alike.
 */
export const layer = Layer.effect(
  TriggerRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)

    const insert = SqlSchema.findOne({
      Request: Fields,
      Result: TriggerRow,
      execute: (t) =>
        sql`
          INSERT INTO triggers (id, app_id, script_id, key_pattern, ops, retry, dead_letter_script_id, enabled,
            registrant_user_id)
          VALUES (${t.id}, ${t.app_id}, ${t.script_id}, ${t.key_pattern}, ${JSON.stringify(t.ops)}::jsonb,
            ${JSON.stringify(t.retry)}::jsonb, ${t.dead_letter_script_id}, ${t.enabled}, ${t.registrant_user_id})
          RETURNING ${columns}`
    })
    const write = SqlSchema.findOne({
      Request: Fields,
      Result: TriggerRow,
      execute: (t) =>
        sql`
          UPDATE triggers SET script_id = ${t.script_id}, key_pattern = ${t.key_pattern},
            ops = ${JSON.stringify(t.ops)}::jsonb, retry = ${JSON.stringify(t.retry)}::jsonb,
            dead_letter_script_id = ${t.dead_letter_script_id}, enabled = ${t.enabled},
            registrant_user_id = ${t.registrant_user_id}, updated_at = now()
          WHERE id = ${t.id}
          RETURNING ${columns}`
    })
    const listAll = SqlSchema.findAll({
      Request: Schema.Void,
      Result: TriggerRow,
      execute: () => sql`SELECT ${columns} FROM triggers ORDER BY created_at, id`
    })
    const listForApp = SqlSchema.findAll({
      Request: Schema.String,
      Result: TriggerRow,
      execute: (appId) => sql`SELECT ${columns} FROM triggers WHERE app_id = ${appId} ORDER BY created_at, id`
    })
    const findById = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: TriggerRow,
      execute: (id) => sql`SELECT ${columns} FROM triggers WHERE id = ${id}`
    })
    const findForUpdate = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: TriggerRow,
      execute: (id) => sql`SELECT ${columns} FROM triggers WHERE id = ${id} FOR UPDATE`
    })

    return TriggerRepo.of({
      create: Effect.fn("TriggerRepo.create")(
        function*(input) {
          return yield* insert({ ...input, id: randomUUID() })
        },
        persistence("TriggerRepo.create")
      ),
      list: Effect.fn("TriggerRepo.list")(
        function*(appId) {
          return yield* appId === undefined ? listAll() : byUuid(appId, listForApp, [])
        },
        persistence("TriggerRepo.list")
      ),
      get: Effect.fn("TriggerRepo.get")(
        function*(id) {
          const found = yield* byUuid(id, findById, Option.none())
          if (Option.isNone(found)) return yield* new TriggerNotFound({ id })
          return found.value
        },
        persistence("TriggerRepo.get")
      ),
      update: Effect.fn("TriggerRepo.update")(
        function*(id, patch) {
          const found = yield* byUuid(id, findForUpdate, Option.none())
          if (Option.isNone(found)) return yield* new TriggerNotFound({ id })
          return yield* write({ ...found.value, ...patch })
        },
        sql.withTransaction,
        persistence("TriggerRepo.update")
      ),
      delete: Effect.fn("TriggerRepo.delete")(
        function*(id) {
          const deleted = yield* byUuid(id, (id) => sql`DELETE FROM triggers WHERE id = ${id} RETURNING id`, [])
          if (deleted.length === 0) return yield* new TriggerNotFound({ id })
        },
        persistence("TriggerRepo.delete")
      ),
      deleteForScript: Effect.fn("TriggerRepo.deleteForScript")(
        function*(scriptId) {
          yield* sql`DELETE FROM triggers WHERE script_id = ${scriptId}`
          yield* sql`
            UPDATE triggers SET dead_letter_script_id = NULL, updated_at = now()
            WHERE dead_letter_script_id = ${scriptId}`
        },
        persistence("TriggerRepo.deleteForScript")
      )
    })
  })
)
