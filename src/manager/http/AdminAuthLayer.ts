import { Effect, Layer, Redacted } from "effect"
import { HttpApiMiddleware } from "effect/http-api"
import { AdminAuth, DecodeErrors } from "../../domain/api/AdminApi.ts"
import { apiError, BadRequest, Unauthorized } from "../../domain/api/ApiError.ts"
import { AdminToken } from "../AdminToken.ts"

/** Checks `Authorization: Bearer <token>` against the admin token. */
export const AdminAuthLayer = Layer.effect(
  AdminAuth,
  Effect.gen(function*() {
    const adminToken = yield* AdminToken
    return AdminAuth.of({
      bearer: (httpEffect, { credential }) => {
        const token = Redacted.value(credential)
        if (token.length === 0) {
          return Effect.fail(apiError(Unauthorized, "unauthorized", "missing bearer token"))
        }
        return adminToken.verify(token)
          ? httpEffect
          : Effect.fail(apiError(Unauthorized, "unauthorized", "invalid token"))
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
