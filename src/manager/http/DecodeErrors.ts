import { Effect } from "effect"
import { HttpApiMiddleware } from "effect/http-api"
import { DecodeErrors } from "../../domain/api/AdminApi.ts"
import { apiError, BadRequest } from "../../domain/api/ApiError.ts"

/**
 * A body, path or query that does not decode is a 400 carrying the schema's message. A response
 * that does not encode is our fault: it stays an error, and becomes a 500.
 */
export const layer = HttpApiMiddleware.layerSchemaErrorTransform(
  DecodeErrors,
  (schemaError) =>
    schemaError.kind === "ResponseHeaders"
      ? Effect.fail(schemaError)
      : Effect.fail(
        apiError(BadRequest, "bad_request", `invalid ${schemaError.kind.toLowerCase()}: ${schemaError.cause.message}`)
      )
)
