import { Effect, Layer, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { AdminAuth } from "../../domain/api/AdminApi.ts"
import { apiError, type InternalError, Unauthorized } from "../../domain/api/ApiError.ts"
import { CurrentPrincipal } from "../../domain/Identity.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"
import { apiErrors } from "./apiErrors.ts"
import { checkCookieRequest } from "./session.ts"

/**
 * Resolves `Authorization: Bearer <token>`, or else the dashboard's session cookie, to the principal
 * the handlers see. The framework tries the schemes in order and answers with the last one's
 * failure: `session` runs only when `bearer` failed, and when a bearer was sent, its failure is the
 * answer (the bearer wins: a cookie never stands in for a bad bearer token).
 */
export const layer = Layer.effect(
  AdminAuth,
  Effect.gen(function*() {
    const principals = yield* PrincipalResolver
    // The failure of a bearer token that was sent, by request, for `session` to answer with.
    const bearerFailures = new WeakMap<object, Unauthorized | InternalError>()
    const resolve = (token: string) =>
      principals.fromToken(token).pipe(
        apiErrors,
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(apiError(Unauthorized, "unauthorized", "invalid or revoked token")),
          onSome: Effect.succeed
        }))
      )
    return AdminAuth.of({
      bearer: (httpEffect, { credential }) =>
        Effect.gen(function*() {
          const token = Redacted.value(credential)
          if (token.length === 0) return yield* apiError(Unauthorized, "unauthorized", "missing bearer token")
          const request = yield* HttpServerRequest.HttpServerRequest
          const principal = yield* resolve(token).pipe(
            Effect.tapError((error) => Effect.sync(() => bearerFailures.set(request, error)))
          )
          return yield* Effect.provideService(httpEffect, CurrentPrincipal, principal)
        }),
      session: (httpEffect, { credential }) =>
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const bearerFailure = bearerFailures.get(request)
          if (bearerFailure !== undefined) return yield* Effect.fail(bearerFailure)
          const token = Redacted.value(credential)
          if (token.length === 0) {
            return yield* apiError(Unauthorized, "unauthorized", "missing bearer token or session cookie")
          }
          yield* checkCookieRequest(request)
          const principal = yield* resolve(token).pipe(
            Effect.mapError((error) =>
              error instanceof Unauthorized
                ? apiError(Unauthorized, "unauthorized", "the session has ended; sign in again")
                : error
            )
          )
          return yield* Effect.provideService(httpEffect, CurrentPrincipal, principal)
        })
    })
  })
)
