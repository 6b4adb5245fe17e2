import { Effect, Layer, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import { byUuid, persistence, Timestamp } from "../db/persistence.ts"
import { SecretInfo, SecretRepo } from "../domain/SecretRepo.ts"

/** A `secrets` row as `INFO_COLUMNS` selects it: what the API shows, never the ciphertext. */
const InfoRow = Schema.Struct({ ...SecretInfo.fields, created_at: Timestamp, updated_at: Timestamp })

const INFO_COLUMNS = "name, created_at, updated_at"

/** Secret ciphertexts in PostgreSQL (`secrets`). */
export const layer = Layer.effect(
  SecretRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const infoColumns = sql.literal(INFO_COLUMNS)

    const upsert = SqlSchema.findOne({
      Request: Schema.Struct({ appId: Schema.String, name: Schema.String, ciphertext: Schema.String }),
      Result: InfoRow,
      execute: ({ appId, name, ciphertext }) =>
        sql`
          INSERT INTO secrets (app_id, name, ciphertext) VALUES (${appId}, ${name}, ${ciphertext})
          ON CONFLICT (app_id, name) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, updated_at = now()
          RETURNING ${infoColumns}`
    })
    const listInfo = SqlSchema.findAll({
      Request: Schema.String,
      Result: InfoRow,
      execute: (appId) => sql`SELECT ${infoColumns} FROM secrets WHERE app_id = ${appId} ORDER BY name`
    })
    const listCiphertexts = SqlSchema.findAll({
      Request: Schema.String,
      Result: Schema.Struct({ name: Schema.String, ciphertext: Schema.String }),
      execute: (appId) => sql`SELECT name, ciphertext FROM secrets WHERE app_id = ${appId}`
    })
    const countRows = SqlSchema.findOne({
      Request: Schema.Void,
      Result: Schema.Struct({ n: Schema.Int }),
      execute: () => sql`SELECT count(*)::int AS n FROM secrets`
    })

    return SecretRepo.of({
      put: Effect.fn("SecretRepo.put")(
        function*(appId, name, ciphertext) {
          return yield* upsert({ appId, name, ciphertext })
        },
        persistence("SecretRepo.put")
      ),
      list: Effect.fn("SecretRepo.list")(
        function*(appId) {
          return yield* byUuid(appId, listInfo, [])
        },
        persistence("SecretRepo.list")
      ),
      ciphertexts: Effect.fn("SecretRepo.ciphertexts")(
        function*(appId) {
          return yield* byUuid(appId, listCiphertexts, [])
        },
        persistence("SecretRepo.ciphertexts")
      ),
      delete: Effect.fn("SecretRepo.delete")(
        function*(appId, name) {
          const deleted = yield* byUuid(
            appId,
            (appId) => sql`DELETE FROM secrets WHERE app_id = ${appId} AND name = ${name} RETURNING name`,
            []
          )
          return deleted.length > 0
        },
        persistence("SecretRepo.delete")
      ),
      count: countRows().pipe(
        Effect.map(({ n }) => n),
        persistence("SecretRepo.count")
      )
    })
  })
)
