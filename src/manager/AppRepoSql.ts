import { Effect, Layer, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import { randomUUID } from "node:crypto"
import { isUniqueViolation, persistence, Timestamp } from "../db/persistence.ts"
import { App, type CreateApp } from "../domain/App.ts"
import { AppRepo } from "../domain/AppRepo.ts"
import { AppNameTaken, AppNotFound } from "../domain/Errors.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

/** An `apps` row as `COLUMNS` selects it: the domain's App. */
const AppRow = Schema.Struct({ ...App.fields, created_at: Timestamp })

const COLUMNS = "id, name, created_at"

/** Apps in PostgreSQL (`apps`; the default app comes from the migration). */
export const layer = Layer.effect(
  AppRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)

    const insert = SqlSchema.findOne({
      Request: Schema.Struct({ id: Schema.String, name: Schema.String }),
      Result: AppRow,
      execute: ({ id, name }) =>
        sql`INSERT INTO apps (id, name) VALUES (${id}, ${name}) RETURNING ${columns}`.pipe(
          Effect.mapError((error) => (isUniqueViolation(error) ? new AppNameTaken({ name }) : error))
        )
    })
    const listAll = SqlSchema.findAll({
      Request: Schema.Void,
      Result: AppRow,
      execute: () => sql`SELECT ${columns} FROM apps ORDER BY created_at, name`
    })
    const findById = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: AppRow,
      execute: (id) => sql`SELECT ${columns} FROM apps WHERE id = ${id}`
    })
    const findByName = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: AppRow,
      execute: (name) => sql`SELECT ${columns} FROM apps WHERE name = ${name}`
    })

    return AppRepo.of({
      create: Effect.fn("AppRepo.create")(
        function*(input: CreateApp) {
          return yield* insert({ id: randomUUID(), name: input.name })
        },
        persistence("AppRepo.create")
      ),
      list: listAll().pipe(persistence("AppRepo.list")),
      findByRef: Effect.fn("AppRepo.findByRef")(
        function*(ref: string) {
          return yield* UUID_PATTERN.test(ref) ? findById(ref) : findByName(ref)
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
