import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { isoTimestamp, isUniqueViolation, persistence, rowsByUuid } from "../db/persistence.ts"
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

interface ScriptRow {
  readonly id: string
  readonly app_id: string
  readonly name: string
  readonly version: number
  readonly timeout_seconds: number
  readonly created_at: unknown
  readonly updated_at: unknown
  readonly source?: string
}

const toScript = (row: ScriptRow) =>
  new Script({
    id: row.id as ScriptId,
    app_id: row.app_id,
    name: row.name,
    version: row.version,
    timeout_seconds: row.timeout_seconds,
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at)
  })

const toScriptWithSource = (row: ScriptRow) => new ScriptWithSource({ ...toScript(row), source: row.source ?? "" })

const nameTaken = (name: string) =>
  Effect.mapError((error: SqlError) => (isUniqueViolation(error) ? new ScriptNameTaken({ name }) : error))

/** Scripts in PostgreSQL: `scripts` holds the current version, `script_versions` every version's source. */
export const layer = Layer.effect(
  ScriptRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const withSource = sql`
      SELECT s.id, s.app_id, s.name, s.version, s.timeout_seconds, s.created_at, s.updated_at, v.source
      FROM scripts s JOIN script_versions v ON v.script_id = s.id AND v.version = s.version`

    const findById = (id: string) => rowsByUuid(id, (id) => sql<ScriptRow>`${withSource} WHERE s.id = ${id}`)
    const findByName = (appId: string, name: string) =>
      sql<ScriptRow>`${withSource} WHERE s.app_id = ${appId} AND s.name = ${name}`

    return ScriptRepo.of({
      create: Effect.fn("ScriptRepo.create")(
        function*(input: NewScript) {
          const id = randomUUID()
          const [row] = yield* sql<ScriptRow>`
            INSERT INTO scripts (id, app_id, name, version, timeout_seconds)
            VALUES (${id}, ${input.app_id}, ${input.name}, 1, ${input.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS})
            RETURNING id, app_id, name, version, timeout_seconds, created_at, updated_at`.pipe(nameTaken(input.name))
          yield* sql`INSERT INTO script_versions (script_id, version, source) VALUES (${id}, 1, ${input.source})`
          return toScript(row!)
        },
        sql.withTransaction,
        persistence("ScriptRepo.create")
      ),

      list: (appId) =>
        sql<ScriptRow>`
          SELECT id, app_id, name, version, timeout_seconds, created_at, updated_at FROM scripts
          ${appId === undefined ? sql`` : UUID_PATTERN.test(appId) ? sql`WHERE app_id = ${appId}` : sql`WHERE false`}
          ORDER BY created_at DESC, id DESC`.pipe(
          Effect.map((rows) => rows.map(toScript)),
          persistence("ScriptRepo.list")
        ),

      get: Effect.fn("ScriptRepo.get")(
        function*(id: ScriptId) {
          const [row] = yield* findById(id)
          if (!row) return yield* new ScriptNotFound({ ref: id })
          return toScriptWithSource(row)
        },
        persistence("ScriptRepo.get")
      ),

      find: Effect.fn("ScriptRepo.find")(
        function*(id: ScriptId) {
          const [row] = yield* rowsByUuid(
            id,
            (id) =>
              sql<
                ScriptRow
              >`SELECT id, app_id, name, version, timeout_seconds, created_at, updated_at FROM scripts WHERE id = ${id}`
          )
          if (!row) return yield* new ScriptNotFound({ ref: id })
          return toScript(row)
        },
        persistence("ScriptRepo.find")
      ),

      findByRef: Effect.fn("ScriptRepo.findByRef")(
        function*(appId: string, ref: string) {
          const [row] = UUID_PATTERN.test(ref)
            ? yield* findById(ref)
            : UUID_PATTERN.test(appId)
            ? yield* findByName(appId, ref)
            : []
          return Option.map(Option.fromNullishOr(row), toScriptWithSource)
        },
        persistence("ScriptRepo.findByRef")
      ),

      update: Effect.fn("ScriptRepo.update")(
        function*(id: ScriptId, input: UpdateScript) {
          if (!UUID_PATTERN.test(id)) return yield* new ScriptNotFound({ ref: id })
          const [row] = yield* sql<ScriptRow>`
            UPDATE scripts SET
              name = COALESCE(${input.name ?? null}, name),
              timeout_seconds = COALESCE(${input.timeout_seconds ?? null}::int, timeout_seconds),
              version = version + 1,
              updated_at = now()
            WHERE id = ${id}
            RETURNING id, app_id, name, version, timeout_seconds, created_at, updated_at`.pipe(
            nameTaken(input.name ?? "")
          )
          if (!row) return yield* new ScriptNotFound({ ref: id })
          yield* sql`INSERT INTO script_versions (script_id, version, source) VALUES (${id}, ${row.version}, ${input.source})`
          return toScript(row)
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
