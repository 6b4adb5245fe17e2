import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { isoTimestamp, isUniqueViolation, persistence } from "../db/persistence.ts"
import type { App, CreateApp } from "../domain/App.ts"
import { AppRepo } from "../domain/AppRepo.ts"
import { AppNameTaken, AppNotFound } from "../domain/Errors.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

interface AppRow {
  readonly id: string
  readonly name: string
  readonly created_at: unknown
}

const toApp = (row: AppRow): App => ({ id: row.id, name: row.name, created_at: isoTimestamp(row.created_at) })

/** Apps in PostgreSQL (`apps`; the default app comes from the migration). */
export const layer = Layer.effect(
  AppRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return AppRepo.of({
      create: Effect.fn("AppRepo.create")(
        function*(input: CreateApp) {
          const [row] = yield* sql<AppRow>`
            INSERT INTO apps (id, name) VALUES (${randomUUID()}, ${input.name})
            RETURNING id, name, created_at`.pipe(
            Effect.mapError((
              error: SqlError
            ) => (isUniqueViolation(error) ? new AppNameTaken({ name: input.name }) : error))
          )
          return toApp(row!)
        },
        persistence("AppRepo.create")
      ),
      list: sql<AppRow>`SELECT id, name, created_at FROM apps ORDER BY created_at, name`.pipe(
        Effect.map((rows) => rows.map(toApp)),
        persistence("AppRepo.list")
      ),
      findByRef: Effect.fn("AppRepo.findByRef")(
        function*(ref: string) {
          const rows = UUID_PATTERN.test(ref)
            ? yield* sql<AppRow>`SELECT id, name, created_at FROM apps WHERE id = ${ref}`
            : yield* sql<AppRow>`SELECT id, name, created_at FROM apps WHERE name = ${ref}`
          return Option.map(Option.fromNullishOr(rows[0]), toApp)
        },
        persistence("AppRepo.findByRef")
      ),
      delete: Effect.fn("AppRepo.delete")(
        function*(id: string) {
          const deleted = UUID_PATTERN.test(id) ? yield* sql`DELETE FROM apps WHERE id = ${id} RETURNING id` : []
          if (deleted.length === 0) return yield* new AppNotFound({ ref: id })
        },
        persistence("AppRepo.delete")
      )
    })
  })
)
