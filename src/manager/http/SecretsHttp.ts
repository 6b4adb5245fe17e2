import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, NotFound } from "../../domain/api/ApiError.ts"
import { AppEnv } from "../../domain/AppEnv.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { SecretRepo } from "../../domain/SecretRepo.ts"
import { SecretCipher } from "../SecretCipher.ts"
import { manageableApp } from "./authorize.ts"
import { internalError } from "./internalError.ts"

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
    const cipher = yield* SecretCipher
    const env = yield* AppEnv

    const manageable = (ref: string) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    return handlers
      .handle("put", ({ params, payload }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(params.app)
          const ciphertext = yield* cipher.encrypt(payload.value)
          const info = yield* secrets.put(appId, payload.name, ciphertext)
          yield* env.forget(appId)
          return info
        }).pipe(
          Effect.catchTags({
            SecretKeyMissing: () =>
              Effect.fail(apiError(Conflict, "secret_key_missing", "set PICLOUD_SECRET_KEY to store secrets")),
            PersistenceError: internalError
          })
        ))
      .handle("list", ({ params }) =>
        manageable(params.app).pipe(
          Effect.flatMap((appId) => secrets.list(appId)),
          Effect.map((items) => ({ items })),
          Effect.catchTag("PersistenceError", internalError)
        ))
      .handle("delete", ({ params }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(params.app)
          if (!(yield* secrets.delete(appId, params.name))) {
            return yield* apiError(NotFound, "secret_not_found", `no secret ${params.name}`)
          }
          yield* env.forget(appId)
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
  })
)
