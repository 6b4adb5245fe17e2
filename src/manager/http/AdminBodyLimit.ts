import { ByteSize, Effect, Layer } from "effect"
import { HttpMethod, HttpServerRequest } from "effect/http"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as Settings from "../../config/Settings.ts"
import { AdminBodyLimit } from "../../domain/api/AdminApi.ts"
import { apiError, BadRequest, PayloadTooLarge } from "../../domain/api/ApiError.ts"

/**
 * Caps every admin request body, before authentication and decoding. A declared Content-Length
 * over the cap is refused at once; otherwise the body is read here under the cap (the read is
 * cached for the payload decoding), so going over it is our JSON 413 rather than the empty one
 * the API's decoding would answer with.
 */
export const layer = Layer.effect(
  AdminBodyLimit,
  Effect.gen(function*() {
    const maxBytes = yield* Settings.maxAdminBodyBytes.config
    const tooLarge = apiError(
      PayloadTooLarge,
      "payload_too_large",
      `request body is over the limit of ${maxBytes} bytes`
    )
    const unreadable = apiError(BadRequest, "bad_request", "could not read the request body")
    return AdminBodyLimit.of((httpEffect) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (Number(request.headers["content-length"] ?? 0) > maxBytes) return yield* tooLarge
        if (HttpMethod.hasBody(request.method)) {
          yield* request.arrayBuffer.pipe(
            Effect.mapError((error) =>
              error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
                ? tooLarge
                : unreadable
            )
          )
        }
        return yield* httpEffect
      }).pipe(Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)))
    )
  })
)
