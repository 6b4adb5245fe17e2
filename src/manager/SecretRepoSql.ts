import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { isoTimestamp, persistence } from "../db/persistence.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"
import { SecretRepo } from "../domain/SecretRepo.ts"

interface InfoRow {
  readonly name: string
  readonly created_at: unknown
  readonly updated_at: unknown
}

const toInfo = (row: InfoRow) => ({
  name: row.name,
  created_at: isoTimestamp(row.created_at),
  updated_at: isoTimestamp(row.updated_at)
})

/** Secret ciphertexts in PostgreSQL (`secrets`). */
export const layer = Layer.effect(
  SecretRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return SecretRepo.of({
      put: (appId, name, ciphertext) =>
        sql<InfoRow>`
          INSERT INTO secrets (app_id, name, ciphertext) VALUES (${appId}, ${name}, ${ciphertext})
          ON CONFLICT (app_id, name) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, updated_at = now()
          RETURNING name, created_at, updated_at`.pipe(
          Effect.map((rows) => toInfo(rows[0]!)),
          persistence("SecretRepo.put")
        ),
      list: (appId) =>
        (UUID_PATTERN.test(appId)
          ? sql<InfoRow>`SELECT name, created_at, updated_at FROM secrets WHERE app_id = ${appId} ORDER BY name`
          : Effect.succeed<ReadonlyArray<InfoRow>>([])).pipe(
            Effect.map((rows) => rows.map(toInfo)),
            persistence("SecretRepo.list")
          ),
      ciphertexts: (appId) =>
        (UUID_PATTERN.test(appId)
          ? sql<{ name: string; ciphertext: string }>`SELECT name, ciphertext FROM secrets WHERE app_id = ${appId}`
          : Effect.succeed<ReadonlyArray<{ name: string; ciphertext: string }>>([])).pipe(
            persistence("SecretRepo.ciphertexts")
          ),
      delete: (appId, name) =>
        (UUID_PATTERN.test(appId)
          ? sql<{ name: string }>`DELETE FROM secrets WHERE app_id = ${appId} AND name = ${name} RETURNING name`
          : Effect.succeed<ReadonlyArray<{ name: string }>>([])).pipe(
            Effect.map((rows) => rows.length > 0),
            persistence("SecretRepo.delete")
          ),
      count: sql<{ n: number }>`SELECT count(*)::int AS n FROM secrets`.pipe(
        Effect.map((rows) => rows[0]!.n),
        persistence("SecretRepo.count")
      )
    })
  })
)
