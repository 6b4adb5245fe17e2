import { ByteSize, Config, Effect, Option, Result } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import { execErrorCode, execErrorStatus, type ExecResponse } from "../../domain/Exec.ts"
import { ExecutionGate } from "../ExecutionGate.ts"
import { Invoker } from "../Invoker.ts"
import { ScriptCache } from "../ScriptCache.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"
import { errorResponse } from "./errorResponse.ts"

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const
const EXECUTION_HEADER = "x-picloud-execution-id"

/** A text body (not a stream), so the reply carries Content-Length rather than chunked encoding. */
const toHttp = (executionId: string, response: ExecResponse) => {
  const headers = { ...response.headers, [EXECUTION_HEADER]: executionId }
  return response.body === null
    ? HttpServerResponse.empty({ status: response.statusCode, headers })
    : HttpServerResponse.text(response.body, { status: response.statusCode, headers })
}

/** Node joins repeated headers itself; scripts see one string per (lower-case) name. */
const plainHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) =>
  Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, typeof value === "string" ? value : value.join(", ")]]
    )
  )

/**
 * `/api/execute/{id-or-name}` (the default app, or any script by id) and `/api/execute/{app}/{name}`:
 * runs the script synchronously for the caller (ARCHITECTURE §5, sync
 * HTTP) and answers with its response, or with the status table's error.
 */
export const ExecuteRoute = HttpRouter.use(Effect.fn(function*(router) {
  const scripts = yield* ScriptCache
  const invoker = yield* Invoker
  const gate = yield* ExecutionGate
  const principals = yield* PrincipalResolver
  const maxBodyBytes = yield* Config.Int("PICLOUD_MAX_REQUEST_BYTES").pipe(Config.withDefault(1024 * 1024))

  const handle = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const appRef = params.name === undefined ? undefined : params.app
    const ref = params.name ?? params.ref ?? ""
    const url = new URL(request.url, "http://localhost")

    // A token is needed; the caller may run the scripts of the apps it is granted (admins: all).
    const authorization = request.headers["authorization"]
    const bearer = authorization?.startsWith("Bearer ") ? authorization.slice(7).trim() : ""
    if (bearer === "") return errorResponse(401, { code: "unauthorized", message: "a bearer token is required" })
    const principal = yield* principals.fromToken(bearer)
    if (Option.isNone(principal)) return errorResponse(401, { code: "unauthorized", message: "invalid or revoked token" })

    const declared = Number(request.headers["content-length"] ?? 0)
    if (declared > maxBodyBytes) return tooLarge(maxBodyBytes)
    // GET and HEAD carry no body: skip the body stream machinery for them.
    const hasBody = !(request.method === "GET" || request.method === "HEAD") || declared > 0 ||
      request.headers["transfer-encoding"] !== undefined
    const body = hasBody
      ? yield* request.text.pipe(
        Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBodyBytes)),
        Effect.result
      )
      : Result.succeed("")
    if (body._tag === "Failure") {
      return body.failure.reason._tag === "RequestParseError" && body.failure.reason.reason === "BodyTooLarge"
        ? tooLarge(maxBodyBytes)
        : errorResponse(400, { code: "bad_request", message: "could not read the request body" })
    }

    const found = Option.filter(
      yield* scripts.resolve(appRef, ref),
      ({ app }) => principal.value.role === "admin" || principal.value.apps.includes(app.id)
    )
    if (Option.isNone(found)) {
      return errorResponse(404, { code: "script_not_found", message: `no script ${appRef === undefined ? ref : `${appRef}/${ref}`}` })
    }
    return yield* invoker.invoke(found.value, {
      invocation: "http",
      principal: principal.value,
      request: {
        method: request.method,
        path: url.pathname,
        params: {},
        query: Object.fromEntries(url.searchParams),
        headers: plainHeaders(request.headers),
        body: body.success
      }
    }).pipe(
      gate.run,
      Effect.map(({ executionId, response }) => toHttp(executionId, response)),
      Effect.catchTag("Overloaded", () =>
        Effect.succeed(errorResponse(
          503,
          { code: "overloaded", message: `all ${gate.limit} execution slots are busy; retry shortly` },
          { "retry-after": "1" }
        ))),
      Effect.catchTag("InvocationFailed", ({ executionId, error }) =>
        Effect.succeed(errorResponse(
          execErrorStatus[error.reason],
          { code: execErrorCode[error.reason], message: error.message, execution_id: executionId }
        )))
    )
  }).pipe(
    Effect.catchTag("PersistenceError", (error) =>
      Effect.logError(`${error.operation} failed`, error.cause).pipe(
        Effect.as(errorResponse(500, { code: "internal", message: "internal error" }))
      ))
  )

  for (const method of METHODS) {
    yield* router.add(method, "/api/execute/:ref", handle)
    yield* router.add(method, "/api/execute/:app/:name", handle)
  }
}))

const tooLarge = (limit: number) =>
  errorResponse(413, { code: "payload_too_large", message: `request body is over the limit of ${limit} bytes` })
