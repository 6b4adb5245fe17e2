import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { OpenApi } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { bearerToken } from "../../domain/api/credentials.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"

/** `GET /api/admin/openapi.json`: the admin API's OpenAPI document, for any valid token. */
export const OpenApiRoute = HttpRouter.use(Effect.fn(function*(router) {
  const principals = yield* PrincipalResolver
  const document = OpenApi.fromApi(AdminApi)
  yield* router.add(
    "GET",
    "/api/admin/openapi.json",
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const token = bearerToken(request.headers["authorization"])
      const principal = token === ""
        ? Option.none()
        : yield* principals.fromToken(token).pipe(Effect.orElseSucceed(() => Option.none()))
      return Option.isSome(principal)
        ? HttpServerResponse.jsonUnsafe(document)
        : HttpServerResponse.jsonUnsafe({
          error: { code: "unauthorized", message: "a valid bearer token is required" }
        }, { status: 401 })
    })
  )
}))
