import { Effect, Layer, Option, Schema, Struct } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import { randomUUID } from "node:crypto"
import { byUuid, isUniqueViolation, persistence, Timestamp } from "../db/persistence.ts"
import { RouteConflict, RouteNotFound } from "../domain/Errors.ts"
import { Route } from "../domain/Route.ts"
import { RouteRepo } from "../domain/RouteRepo.ts"

/** A `routes` row as `COLUMNS` selects it: the domain's Route (`retry` is jsonb, parsed by the driver). */
const RouteRow = Schema.Struct({ ...Route.fields, created_at: Timestamp })

const COLUMNS = "id, app_id, method, path, script_id, dispatch_mode, auth, retry, dead_letter_script_id, created_at"

/** Routes in PostgreSQL (`routes`; they go with their app or script). */
export const layer = Layer.effect(
  RouteRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)

    const insert = SqlSchema.findOne({
      Request: Route.mapFields(Struct.omit(["created_at"])).mapFields(Struct.assign({ shape: Schema.String })),
      Result: RouteRow,
      execute: (route) =>
        sql`
          INSERT INTO routes (id, app_id, method, path, shape, script_id, dispatch_mode, auth, retry, dead_letter_script_id)
          VALUES (${route.id}, ${route.app_id}, ${route.method}, ${route.path}, ${route.shape}, ${route.script_id},
            ${route.dispatch_mode}, ${route.auth}, ${
          JSON.stringify(route.retry)
        }::jsonb, ${route.dead_letter_script_id})
          RETURNING ${columns}`.pipe(
          Effect.mapError((error) =>
            isUniqueViolation(error) ? new RouteConflict({ method: route.method, path: route.path }) : error
          )
        )
    })
    const listAll = SqlSchema.findAll({
      Request: Schema.Void,
      Result: RouteRow,
      execute: () => sql`SELECT ${columns} FROM routes ORDER BY created_at`
    })
    const listForApp = SqlSchema.findAll({
      Request: Schema.String,
      Result: RouteRow,
      execute: (appId) => sql`SELECT ${columns} FROM routes WHERE app_id = ${appId} ORDER BY created_at`
    })
    const findById = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: RouteRow,
      execute: (id) => sql`SELECT ${columns} FROM routes WHERE id = ${id}`
    })

    return RouteRepo.of({
      create: Effect.fn("RouteRepo.create")(
        function*(input) {
          return yield* insert({ ...input, id: randomUUID() })
        },
        persistence("RouteRepo.create")
      ),
      list: Effect.fn("RouteRepo.list")(
        function*(appId) {
          return yield* appId === undefined ? listAll() : byUuid(appId, listForApp, [])
        },
        persistence("RouteRepo.list")
      ),
      get: Effect.fn("RouteRepo.get")(
        function*(id) {
          const found = yield* byUuid(id, findById, Option.none())
          if (Option.isNone(found)) return yield* new RouteNotFound({ id })
          return found.value
        },
        persistence("RouteRepo.get")
      ),
      delete: Effect.fn("RouteRepo.delete")(
        function*(id) {
          const deleted = yield* byUuid(id, (id) => sql`DELETE FROM routes WHERE id = ${id} RETURNING id`, [])
          if (deleted.length === 0) return yield* new RouteNotFound({ id })
        },
        persistence("RouteRepo.delete")
      ),
      deleteForScript: Effect.fn("RouteRepo.deleteForScript")(
        function*(scriptId) {
          yield* sql`DELETE FROM routes WHERE script_id = ${scriptId}`
          yield* sql`UPDATE routes SET dead_letter_script_id = NULL WHERE dead_letter_script_id = ${scriptId}`
        },
        persistence("RouteRepo.deleteForScript")
      )
    })
  })
)
