import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, NotFound } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { SecretRepo } from "../../domain/SecretRepo.ts"
import { Secrets } from "../Secrets.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp } from "./authorize.ts"

/**
 * `/api/admin/apps/{app}/secrets`, for admins and the app's developers: values go in encrypted and
 * never come out (listing gives names only); scripts read them as `ctx.env.NAME`.
 */
export const SecretsHttp = HttpApiBuilder.group(
  AdminApi,
  "secrets",
  Effect.fn(function*(handlers) {
    const apps = yield* AppRepo
    const secrets = yield* SecretRepo
    const service = yield* Secrets
    const manageable = (ref: string) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    return handlers
      .handle("put", ({ params, payload }) =>
        manageable(params.app).pipe(
          Effect.flatMap((appId) => service.put(appId, payload.name, payload.value)),
          apiErrors
        ))
      .handle("list", ({ params }) =>
        manageable(params.app).pipe(
          Effect.flatMap((appId) => secrets.list(appId)),
          Effect.map((items) => ({ items })),
          apiErrors
        ))
      .handle("delete", ({ params }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(params.app)
          if (!(yield* service.delete(appId, params.name))) {
            return yield* apiError(NotFound, "secret_not_found", `no secret ${params.name}`)
          }
        }).pipe(apiErrors))
  })
)
