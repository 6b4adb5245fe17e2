import { Effect, Layer, Option, Redacted } from "effect"
import { AdminAuth } from "../../domain/api/AdminApi.ts"
import { apiError, Unauthorized } from "../../domain/api/ApiError.ts"
import { CurrentPrincipal } from "../../domain/Identity.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"
import { apiErrors } from "./apiErrors.ts"

/** Resolves `Authorization: Bearer <token>` to the principal the handlers see. */
export const layer = Layer.effect(
  AdminAuth,
  Effect.gen(function*() {
    const principals = yield* PrincipalResolver
    return AdminAuth.of({
      bearer: (httpEffect, { credential }) => {
        const token = Redacted.value(credential)
        if (token.length === 0) {
          return Effect.fail(apiError(Unauthorized, "unauthorized", "missing bearer token"))
        }
        return Effect.gen(function*() {
          const principal = yield* principals.fromToken(token).pipe(apiErrors)
          if (Option.isNone(principal)) return yield* apiError(Unauthorized, "unauthorized", "invalid or revoked token")
          return yield* Effect.provideService(httpEffect, CurrentPrincipal, principal.value)
        })
      }
    })
  })
)
