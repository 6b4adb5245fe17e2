import { Effect, Option } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { ExecutorConnection } from "../executor/ExecutorRemote.ts"
import { errorResponse } from "../orchestrator/http/errorResponse.ts"
import { StorageHealth } from "./StorageHealth.ts"

/**
 * `GET /health`: 200 when the database answers within 2 s, else 503. On a cluster's orchestrator,
 * also 503 while its executor is not connected. Needs no token.
 */
export const HealthRoute = HttpRouter.use(Effect.fn(function*(router) {
  const storage = yield* StorageHealth
  const executor = yield* Effect.serviceOption(ExecutorConnection)
  const unhealthy = (message: string) => errorResponse(503, { code: "unhealthy", message }, { "retry-after": "5" })
  yield* router.add(
    "GET",
    "/health",
    Effect.gen(function*() {
      if (Option.isSome(executor) && !(yield* executor.value.connected)) return unhealthy("executor unreachable")
      return yield* storage.check.pipe(
        Effect.timeout("2 seconds"),
        Effect.match({
          onSuccess: () =>
            HttpServerResponse.jsonUnsafe(
              Option.isSome(executor)
                ? { status: "ok", database: "ok", executor: "ok" }
                : { status: "ok", database: "ok" }
            ),
          onFailure: () => unhealthy("database unreachable")
        })
      )
    })
  )
}))
