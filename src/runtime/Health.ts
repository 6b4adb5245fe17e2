import { Context, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { SqlClient } from "effect/sql"

/** Whether the storage behind this process answers. */
export class StorageHealth extends Context.Service<StorageHealth, {
  readonly check: Effect.Effect<void, unknown>
}>()("picloud/runtime/StorageHealth") {
  static readonly layerSql = Layer.effect(
    StorageHealth,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return StorageHealth.of({ check: sql`SELECT 1`.pipe(Effect.asVoid) })
    })
  )

  static readonly layerMemory = Layer.succeed(StorageHealth, StorageHealth.of({ check: Effect.void }))
}

/** `GET /health`: 200 when the database answers within 2 s, else 503. Needs no token. */
export const HealthRoute = HttpRouter.use(Effect.fn(function*(router) {
  const storage = yield* StorageHealth
  yield* router.add(
    "GET",
    "/health",
    storage.check.pipe(
      Effect.timeout("2 seconds"),
      Effect.match({
        onSuccess: () => HttpServerResponse.jsonUnsafe({ status: "ok", database: "ok" }),
        onFailure: () =>
          HttpServerResponse.jsonUnsafe(
            { error: { code: "unhealthy", message: "database unreachable" } },
            { status: 503, headers: { "retry-after": "5" } }
          )
      })
    )
  )
}))
