import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { errorResponse } from "../orchestrator/http/errorResponse.ts"
import { StorageHealth } from "./StorageHealth.ts"

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
          errorResponse(503, { code: "unhealthy", message: "database unreachable" }, { "retry-after": "5" })
      })
    )
  )
}))
