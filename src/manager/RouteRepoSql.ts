import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { isoTimestamp, isUniqueViolation, jsonValue, persistence, rowsByUuid } from "../db/persistence.ts"
import { RouteConflict, RouteNotFound } from "../domain/Errors.ts"
import type { Route } from "../domain/Route.ts"
import { RouteRepo } from "../domain/RouteRepo.ts"

type RouteRow = Omit<Route, "created_at" | "retry"> & { readonly created_at: unknown; readonly retry: unknown }

const toRoute = (row: RouteRow): Route => ({
  ...row,
  retry: jsonValue(row.retry),
  created_at: isoTimestamp(row.created_at)
})
const COLUMNS = "id, app_id, method, path, script_id, dispatch_mode, auth, retry, created_at"

/** Routes in PostgreSQL (`routes`; they go with their app or script). */
export const layer = Layer.effect(
  RouteRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)
    return RouteRepo.of({
      create: (input) =>
        sql<RouteRow>`
          INSERT INTO routes (id, app_id, method, path, shape, script_id, dispatch_mode, auth, retry)
          VALUES (${randomUUID()}, ${input.app_id}, ${input.method}, ${input.path}, ${input.shape}, ${input.script_id},
            ${input.dispatch_mode}, ${input.auth}, ${JSON.stringify(input.retry)}::jsonb)
          RETURNING ${columns}`.pipe(
          Effect.map((rows) => toRoute(rows[0]!)),
          Effect.mapError((
            error: SqlError
          ) => (isUniqueViolation(error) ? new RouteConflict({ method: input.method, path: input.path }) : error)),
          persistence("RouteRepo.create")
        ),
      list: (appId) =>
        (appId === undefined
          ? sql<RouteRow>`SELECT ${columns} FROM routes ORDER BY created_at`
          : rowsByUuid(appId, (appId) =>
            sql<RouteRow>`SELECT ${columns} FROM routes WHERE app_id = ${appId} ORDER BY created_at`)).pipe(
            Effect.map((rows) =>
              rows.map(toRoute)
            ),
            persistence("RouteRepo.list")
          ),
      get: (id) =>
        rowsByUuid(id, (id) => sql<RouteRow>`SELECT ${columns} FROM routes WHERE id = ${id}`).pipe(
          Effect.flatMap((
            rows
          ) => (rows[0] ? Effect.succeed(toRoute(rows[0])) : Effect.fail(new RouteNotFound({ id })))),
          persistence("RouteRepo.get")
        ),
      delete: (id) =>
        rowsByUuid(id, (id) => sql<{ id: string }>`DELETE FROM routes WHERE id = ${id} RETURNING id`).pipe(
          Effect.flatMap((rows) => (rows.length ? Effect.void : Effect.fail(new RouteNotFound({ id })))),
          persistence("RouteRepo.delete")
        ),
      deleteForScript: (scriptId) =>
        sql`DELETE FROM routes WHERE script_id = ${scriptId}`.pipe(
          Effect.asVoid,
          persistence("RouteRepo.deleteForScript")
        )
    })
  })
)
