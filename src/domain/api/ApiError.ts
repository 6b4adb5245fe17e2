import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"

/**
 * The JSON error body every PiCloud endpoint answers with (docs/ARCHITECTURE.md §7):
 * `{ "error": { "code", "message", ... } }`. One class per HTTP status; `code` says which case.
 */
export const ErrorDetail = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  execution_id: Schema.optionalKey(Schema.String),
  line: Schema.optionalKey(Schema.NullOr(Schema.Int)),
  column: Schema.optionalKey(Schema.NullOr(Schema.Int))
})
export type ErrorDetail = typeof ErrorDetail.Type

/** The one shape of every error body: built here, whoever answers (admin API, data plane, Node's own errors). */
export const errorBody = (detail: ErrorDetail) => ({ error: detail })

const fields = { error: ErrorDetail }

export class BadRequest extends Schema.Error<BadRequest>("picloud/api/BadRequest")(fields, {
  httpApiStatus: 400,
  description: "The request is malformed"
}) {}

export class Unauthorized extends Schema.Error<Unauthorized>("picloud/api/Unauthorized")(fields, {
  httpApiStatus: 401,
  description: "No token, or not a valid one"
}) {}

export class Forbidden extends Schema.Error<Forbidden>("picloud/api/Forbidden")(fields, {
  httpApiStatus: 403,
  description: "The token is valid but its role does not allow this"
}) {}

/** A 429 says when to come back: `retryAfter` seconds, sent as `Retry-After`. */
export class TooManyRequests extends Schema.Error<TooManyRequests>("picloud/api/TooManyRequests")({
  ...fields,
  retryAfter: Schema.Int
}, { description: "Too many failed attempts; retry after Retry-After seconds" }) {}

/** How a `TooManyRequests` goes on the wire: the JSON error body, and `Retry-After`. */
export const TooManyRequestsResponse = TooManyRequests.pipe(HttpApiSchema.encodeToWithHeaders({
  body: Schema.Struct(fields).annotate({ httpApiStatus: 429 }),
  headers: { "retry-after": Schema.NumberFromString }
}, {
  decode: ({ body, headers }) => new TooManyRequests({ error: body.error, retryAfter: headers["retry-after"] }),
  encode: (error) => ({ body: { error: error.error }, headers: { "retry-after": error.retryAfter } })
}))

export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("picloud/api/PayloadTooLarge")(fields, {
  description: "The request body, or a script source in it, is over its limit"
}) {}

/**
 * How a `PayloadTooLarge` goes on the wire: the JSON error body, and `Connection: close`, so a
 * server that answered before reading a body does not then read the rest of it to keep the
 * connection alive.
 */
export const PayloadTooLargeResponse = PayloadTooLarge.pipe(HttpApiSchema.encodeToWithHeaders({
  body: Schema.Struct(fields).annotate({ httpApiStatus: 413 }),
  headers: { connection: Schema.Literal("close") }
}, {
  decode: ({ body }) => new PayloadTooLarge({ error: body.error }),
  encode: (error) => ({ body: { error: error.error }, headers: { connection: "close" as const } })
}))

export class NotFound extends Schema.Error<NotFound>("picloud/api/NotFound")(fields, {
  httpApiStatus: 404,
  description: "No such resource"
}) {}

export class Conflict extends Schema.Error<Conflict>("picloud/api/Conflict")(fields, {
  httpApiStatus: 409,
  description: "Conflicts with an existing resource"
}) {}

/** A precondition (`If-Match`) did not hold: the resource is not at the version the caller named. */
export class PreconditionFailed extends Schema.Error<PreconditionFailed>("picloud/api/PreconditionFailed")(fields, {
  httpApiStatus: 412,
  description: "The resource is not at the version If-Match names"
}) {}

export class Unprocessable extends Schema.Error<Unprocessable>("picloud/api/Unprocessable")(fields, {
  httpApiStatus: 422,
  description: "The script does not compile"
}) {}

/** Every execution slot is busy: the caller retries shortly (as the data plane's 503 says). */
export class ServiceUnavailable extends Schema.Error<ServiceUnavailable>("picloud/api/ServiceUnavailable")(fields, {
  httpApiStatus: 503,
  description: "All execution slots are busy; retry shortly"
}) {}

export class InternalError extends Schema.Error<InternalError>("picloud/api/InternalError")(fields, {
  httpApiStatus: 500,
  description: "A platform fault"
}) {}

export const apiError = <A>(
  ErrorClass: new(props: { readonly error: ErrorDetail }) => A,
  code: string,
  message: string,
  extra?: Omit<ErrorDetail, "code" | "message">
): A => new ErrorClass(errorBody({ code, message, ...extra }))
