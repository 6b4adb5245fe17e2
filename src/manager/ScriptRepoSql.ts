import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { byUuid, isUniqueViolation, persistence, Timestamp } from "../db/persistence.ts"
import { ScriptNameTaken, ScriptNotFound } from "../domain/Errors.ts"
import { type ScriptId, UUID_PATTERN } from "../domain/Ids.ts"
import {
  DEFAULT_TIMEOUT_SECONDS,
  type NewScript,
  Script,
  ScriptWithSource,
  type UpdateScript
} from "../domain/Script.ts"
import { ScriptRepo } from "../domain/ScriptRepo.ts"

/** A `scripts` row as `COLUMNS` selects it. */
const ScriptRow = Schema.Struct({ ...Script.fields, created_at: Timestamp, updated_at: Timestamp })

/** A script row with its current version's source (`WITH_SOURCE`). */
const ScriptWithSourceRow = Schema.Struct({ ...ScriptRow.fields, source: Schema.String })

const COLUMNS = "id, app_id, name, version, timeout_seconds, created_at, updated_at"

const WITH_SOURCE = `
  SELECT s.id, s.app_id, s.name, s.version, s.timeout_seconds, s.created_at, s.updated_at, v.source
  FROM scripts s JOIN script_versions v ON v.script_id = s.id AND v.version = s.version`

const toScript = (row: typeof ScriptRow.Type) => new Script(row)
const toScriptWithSource = (row: typeof ScriptWithSourceRow.Type) => new ScriptWithSource(row)

const nameTaken = (name: string) =>
  Effect.mapError((error: SqlError) => (isUniqueViolation(error) ? new ScriptNameTaken({ name }) : error))

/** Scripts in PostgreSQL: `scripts` holds the current version, `script_versions` every version's source. */
export const layer = Layer.effect(
  ScriptRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)
    const withSource = sql.literal(WITH_SOURCE)

    const insert = SqlSchema.findOne({
      Request: Schema.Struct({
        id: Schema.String,
        app_id: Schema.String,
        name: Schema.String,
        timeout_seconds: Schema.Int
      }),
      Result: ScriptRow,
      execute: ({ id, app_id, name, timeout_seconds }) =>
        sql`
          INSERT INTO scripts (id, app_id, name, version, timeout_seconds)
          VALUES (${id}, ${app_id}, ${name}, 1, ${timeout_seconds})
          RETURNING ${columns}`.pipe(nameTaken(name))
    })
    const listAll = SqlSchema.findAll({
      Request: Schema.Void,
      Result: ScriptRow,
      execute: () => sql`SELECT ${columns} FROM scripts ORDER BY created_at DESC, id DESC`
    })
    const listForApp = SqlSchema.findAll({
      Request: Schema.String,
      Result: ScriptRow,
      execute: (appId) => sql`SELECT ${columns} FROM scripts WHERE app_id = ${appId} ORDER BY created_at DESC, id DESC`
    })
    const findRow = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: ScriptRow,
      execute: (id) => sql`SELECT ${columns} FROM scripts WHERE id = ${id}`
    })
    const findById = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: ScriptWithSourceRow,
      execute: (id) => sql`${withSource} WHERE s.id = ${id}`
    })
    const findByName = SqlSchema.findOneOption({
      Request: Schema.Struct({ appId: Schema.String, name: Schema.String }),
      Result: ScriptWithSourceRow,
      execute: ({ appId, name }) => sql`${withSource} WHERE s.app_id = ${appId} AND s.name = ${name}`
    })
    /** Bumps the version; name and timeout change only when given. */
    const bump = SqlSchema.findOneOption({
      Request: Schema.Struct({
        id: Schema.String,
        name: Schema.NullOr(Schema.String),
        timeout_seconds: Schema.NullOr(Schema.Int)
      }),
      Result: ScriptRow,
      execute: ({ id, name, timeout_seconds }) =>
        sql`
          UPDATE scripts SET
            name = COALESCE(${name}, name),
            timeout_seconds = COALESCE(${timeout_seconds}::int, timeout_seconds),
            version = version + 1,
            updated_at = now()
          WHERE id = ${id}
          RETURNING ${columns}`.pipe(nameTaken(name ?? ""))
    })

    return ScriptRepo.of({
      create: Effect.fn("ScriptRepo.create")(
        function*(input: NewScript) {
          const id = randomUUID()
          const row = yield* insert({
            id,
            app_id: input.app_id,
            name: input.name,
            timeout_seconds: input.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS
          })
          yield* sql`INSERT INTO script_versions (script_id, version, source) VALUES (${id}, 1, ${input.source})`
          return toScript(row)
        },
        sql.withTransaction,
        persistence("ScriptRepo.create")
      ),

      list: Effect.fn("ScriptRepo.list")(
        function*(appId?: string) {
          const rows = yield* appId === undefined ? listAll() : byUuid(appId, listForApp, [])
          return rows.map(toScript)
        },
        persistence("ScriptRepo.list")
      ),

      get: Effect.fn("ScriptRepo.get")(
        function*(id: ScriptId) {
          const row = yield* byUuid(id, findById, Option.none())
          if (Option.isNone(row)) return yield* new ScriptNotFound({ ref: id })
          return toScriptWithSource(row.value)
        },
        persistence("ScriptRepo.get")
      ),

      find: Effect.fn("ScriptRepo.find")(
        function*(id: ScriptId) {
          const row = yield* byUuid(id, findRow, Option.none())
          if (Option.isNone(row)) return yield* new ScriptNotFound({ ref: id })
          return toScript(row.value)
        },
        persistence("ScriptRepo.find")
      ),

      findByRef: Effect.fn("ScriptRepo.findByRef")(
        function*(appId: string, ref: string) {
          const row = UUID_PATTERN.test(ref)
            ? yield* findById(ref)
            : yield* byUuid(appId, (appId) => findByName({ appId, name: ref }), Option.none())
          return Option.map(row, toScriptWithSource)
        },
        persistence("ScriptRepo.findByRef")
      ),

      update: Effect.fn("ScriptRepo.update")(
        function*(id: ScriptId, input: UpdateScript) {
          const row = yield* byUuid(
            id,
            (id) => bump({ id, name: input.name ?? null, timeout_seconds: input.timeout_seconds ?? null }),
            Option.none()
          )
          if (Option.isNone(row)) return yield* new ScriptNotFound({ ref: id })
          yield* sql`INSERT INTO script_versions (script_id, version, source) VALUES (${id}, ${row.value.version}, ${input.source})`
          return toScript(row.value)
        },
        sql.withTransaction,
        persistence("ScriptRepo.update")
      ),

      delete: Effect.fn("ScriptRepo.delete")(
        function*(id: ScriptId) {
          if (!UUID_PATTERN.test(id)) return yield* new ScriptNotFound({ ref: id })
          const deleted = yield* sql`DELETE FROM scripts WHERE id = ${id} RETURNING id`
          if (deleted.length === 0) return yield* new ScriptNotFound({ ref: id })
        },
        persistence("ScriptRepo.delete")
      )
    })
  })
)
