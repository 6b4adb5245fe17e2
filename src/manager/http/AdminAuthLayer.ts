import { Effect, Layer, Option, Redacted } from "effect"
import { HttpApiMiddleware } from "effect/http-api"
import { AdminAuth, DecodeErrors } from "../../domain/api/AdminApi.ts"
import { apiError, BadRequest, Unauthorized } from "../../domain/api/ApiError.ts"
import { CurrentPrincipal } from "../../domain/Identity.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"
import { internalError } from "./internalError.ts"

/** Resolves `Authorization: Bearer <token>` to the principal the handlers see. */
export const AdminAuthLayer = Layer.effect(
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
          const principal = yield* principals.fromToken(token).pipe(Effect.catchTag("PersistenceError", internalError))
          if (Option.isNone(principal)) return yield* apiError(Unauthorized, "unauthorized", "invalid or revoked token")
          return yield* Effect.provideService(httpEffect, CurrentPrincipal, principal.value)
        })
      }
    })
  })
)

/**
 * A body, path or query that does not decode is a 400 carrying the schema's message. A response
 * that does not encode is our fault: it stays an error, and becomes a 500.
 */
export const DecodeErrorsLayer = HttpApiMiddleware.layerSchemaErrorTransform(
  DecodeErrors,
  (schemaError) =>
    schemaError.kind === "ResponseHeaders"
      ? Effect.fail(schemaError)
      : Effect.fail(
        apiError(BadRequest, "bad_request", `invalid ${schemaError.kind.toLowerCase()}: ${schemaError.cause.message}`)
      )
)
