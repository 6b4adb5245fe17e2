import { Effect, Option } from "effect"
import * as Settings from "../../config/Settings.ts"
import type { TestRunRequest } from "../../domain/api/AdminApi.ts"
import {
  apiError,
  BadRequest,
  errorBody,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable
} from "../../domain/api/ApiError.ts"
import { bearerToken, SESSION_COOKIE } from "../../domain/api/credentials.ts"
import { execErrorCode, execErrorStatus, type ScriptHttpRequest } from "../../domain/Exec.ts"
import { CurrentPrincipal, seesApp } from "../../domain/Identity.ts"
import { UUID_PATTERN } from "../../domain/Ids.ts"
import { ExecutionGate } from "../../orchestrator/ExecutionGate.ts"
import { Invoker } from "../../orchestrator/Invoker.ts"
import { ScriptCache } from "../../orchestrator/ScriptCache.ts"

/**
 * Why one of a test run's headers may not reach the script, or `undefined`: the platform's own
 * credentials (a `Bearer` authorization, the dashboard's session cookie) never reach a script on
 * the data plane, so a test run refuses them rather than run a request no client could send.
 */
export const refusedHeader = (name: string, value: string) => {
  const lower = name.toLowerCase()
  if (lower === "authorization" && bearerToken(value) !== "") {
    return "a Bearer authorization is the platform's credential and never reaches a script"
  }
  if (lower === "cookie" && value.split(";").some((pair) => pair.split("=", 1)[0]!.trim() === SESSION_COOKIE)) {
    return `the ${SESSION_COOKIE} cookie is the dashboard's credential and never reaches a script`
  }
  return undefined
}

/**
 * `POST /api/admin/scripts/{id}/test-run`: runs the saved script once with the given request, as
 * `/api/execute` would for the caller (the same `Invoker` and gate, so the same limits and an
 * execution record with its logs), and answers what the caller would have got, the logs and the
 * duration. Whoever may execute the script may test-run it: admins, and the users granted its app;
 * for others it does not exist (404). A full gate is a 503, as on the data plane.
 */
export const makeTestRun = Effect.gen(function*() {
  const invoker = yield* Invoker
  const gate = yield* ExecutionGate
  const scripts = yield* ScriptCache
  const maxBodyBytes = yield* Settings.maxRequestBytes.config

  return Effect.fn("Scripts.testRun")(function*(id: string, payload: TestRunRequest) {
    const me = yield* CurrentPrincipal
    const notFound = apiError(NotFound, "script_not_found", `no script ${id}`)
    // A name would find a script of the default app: this endpoint takes ids only.
    if (!UUID_PATTERN.test(id)) return yield* notFound
    const found = Option.filter(
      yield* scripts.resolve(undefined, id),
      ({ app }) => seesApp(me, app.id)
    )
    if (Option.isNone(found)) return yield* notFound
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(payload.headers ?? {})) {
      const refused = refusedHeader(name, value)
      if (refused !== undefined) return yield* apiError(BadRequest, "bad_request", `header ${name}: ${refused}`)
      headers[name.toLowerCase()] = value
    }
    const body = payload.body ?? ""
    if (Buffer.byteLength(body) > maxBodyBytes) {
      return yield* apiError(PayloadTooLarge, "payload_too_large", `body is over the limit of ${maxBodyBytes} bytes`)
    }
    const request: ScriptHttpRequest = {
      method: payload.method ?? "GET",
      path: payload.path ?? "/",
      params: {},
      query: { ...payload.query },
      headers,
      body
    }
    return yield* invoker.invoke(found.value, { invocation: "http", principal: me, request }).pipe(
      gate.run,
      Effect.map(({ executionId, response }) => ({
        execution_id: executionId,
        status: response.statusCode,
        headers: response.headers,
        body: response.body ?? "",
        error: null,
        logs: response.logs,
        logs_truncated: response.logsTruncated,
        duration_ms: response.durationMs
      })),
      Effect.catchTag("InvocationFailed", ({ executionId, error }) => {
        const detail = { code: execErrorCode[error.reason], message: error.message }
        return Effect.succeed({
          execution_id: executionId,
          status: execErrorStatus[error.reason],
          headers: { "content-type": "application/json" },
          body: JSON.stringify(errorBody({ ...detail, execution_id: executionId })),
          error: detail,
          logs: error.logs,
          logs_truncated: error.logsTruncated,
          duration_ms: error.durationMs
        })
      }),
      Effect.catchTag("Overloaded", () =>
        Effect.fail(apiError(
          ServiceUnavailable,
          "overloaded",
          `all ${gate.limit} execution slots are busy; retry shortly`
        )))
    )
  })
})
