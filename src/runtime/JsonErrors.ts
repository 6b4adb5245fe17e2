import { Cause, Effect } from "effect"
import { HttpBody, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { STATUS_CODES } from "node:http"
import { errorBody } from "../domain/api/ApiError.ts"
import { errorResponse } from "../orchestrator/http/errorResponse.ts"
import { EXECUTION_HEADER } from "../orchestrator/http/SyncHttp.ts"
import { httpAnswered } from "../orchestrator/PlatformMetrics.ts"

/** The `code` of an error body the platform did not word itself (a framework's or Node's answer). */
const CODES: Readonly<Record<number, string>> = {
  400: "bad_request",
  404: "not_found",
  405: "method_not_allowed",
  408: "request_timeout",
  413: "payload_too_large",
  414: "uri_too_long",
  415: "unsupported_media_type",
  431: "headers_too_large",
  499: "client_closed_request",
  503: "unavailable"
}
export const codeFor = (status: number) => CODES[status] ?? (status >= 500 ? "internal" : "bad_request")
const MAX_MESSAGE_CHARS = 300

/**
 * Why a request cannot be served, before any route sees it: a path whose percent-encoding is not
 * UTF-8 (`%C0%AF`), or a NUL character in the path or the query, which no name, key or value may
 * hold (PostgreSQL cannot store it). A URL without `%` cannot hold either: Node refuses raw ones.
 */
const refusal = (url: string): string | undefined => {
  if (!url.includes("%")) return undefined
  const queryAt = url.indexOf("?")
  const path = queryAt === -1 ? url : url.slice(0, queryAt)
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return "malformed percent-encoding in the path"
  }
  if (decoded.includes("\0")) return "the path contains a NUL character"
  if (queryAt !== -1) {
    for (const [name, value] of new URLSearchParams(url.slice(queryAt + 1))) {
      if (name.includes("\0")) return "a query parameter's name contains a NUL character"
      if (value.includes("\0")) return `the query parameter ${JSON.stringify(name)} contains a NUL character`
    }
  }
  return undefined
}

/**
 * An error answer the platform did not write as JSON (the router's empty 404, the admin API's
 * text 415, a 503 for a request cut off at shutdown) gets the JSON error body every endpoint
 * promises, keeping its status and headers. A script's own response (it carries the execution id
 * header) is the script's and is never touched.
 */
const asJsonError = (response: HttpServerResponse.HttpServerResponse) => {
  if (response.status < 400 || response.headers[EXECUTION_HEADER] !== undefined) return response
  const body = response.body
  if (body._tag === "Uint8Array" && body.contentType.includes("json")) return response
  const text = body._tag === "Uint8Array" ? new TextDecoder().decode(body.body).trim().slice(0, MAX_MESSAGE_CHARS) : ""
  const message = text || STATUS_CODES[response.status] || "error"
  return HttpServerResponse.setBody(
    response,
    HttpBody.text(JSON.stringify(errorBody({ code: codeFor(response.status), message })), "application/json")
  )
}

/** The answer for a request cut off by shutdown, once the grace period (`PICLOUD_SHUTDOWN_TIMEOUT`) is over. */
export const cutOff = errorResponse(
  503,
  { code: "shutting_down", message: "the server stopped before this request finished; retry" },
  { "retry-after": "1" }
)

/**
 * Every request the router serves passes here first, and every answer last: malformed or NUL-bearing
 * URLs are a JSON 400, and every error the process produces has a JSON body (docs/ARCHITECTURE.md
 * §7). Each answer is counted by status class (`picloud_http_requests_total`). A request a fast
 * path takes (`nodeServer`) has no percent sign to refuse, and its answer is finished and counted
 * the same way (`finishAnswer`, `httpAnswered`).
 */
export const JsonErrors = HttpRouter.middleware((httpApp) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const refused = refusal(request.url)
    if (refused !== undefined) return errorResponse(400, { code: "bad_request", message: refused })
    return yield* httpApp.pipe(
      // A response carried in a defect is what the server sends for an interrupted request.
      Effect.onInterrupt(() => Effect.die(cutOff)),
      finishAnswer
    )
  }).pipe(Effect.tap((response) => httpAnswered(response.status))), { global: true })

/**
 * An answer as every request gets it, through the router or a fast path (`nodeServer`): a failure
 * no handler answered becomes its JSON error, and an error the platform did not word gets the JSON
 * body. Interruptions pass through: the server answers them.
 */
export const finishAnswer = <E, R>(answer: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  answer.pipe(
    Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : fromCause(cause)),
    Effect.map(asJsonError)
  )

/**
 * A failure no handler answered: the router's RouteNotFound (404), a body that could not be read
 * (400, 413), or a fault (500, logged here with its cause, since it is answered here).
 */
const fromCause = (cause: Cause.Cause<unknown>) =>
  HttpServerError.causeResponse(cause).pipe(
    Effect.tap(([response, rest]) =>
      response.status === 500 ? Effect.logError("unhandled failure", rest) : Effect.void
    ),
    Effect.map(([response]) => response)
  )
