import { ByteSize, Data, Effect, Option } from "effect"
import { Headers, type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import type { IncomingMessage } from "node:http"
import * as Settings from "../../config/Settings.ts"
import type { ErrorDetail } from "../../domain/api/ApiError.ts"
import { bearerToken, scriptHeaders } from "../../domain/api/credentials.ts"
import type { PersistenceError } from "../../domain/Errors.ts"
import { execErrorCode, execErrorStatus, type ExecResponse, type ScriptHttpRequest } from "../../domain/Exec.ts"
import type { Principal } from "../../domain/Identity.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"
import { ExecutionGate } from "../ExecutionGate.ts"
import { Invoker } from "../Invoker.ts"
import type { ResolvedScript } from "../ScriptCache.ts"
import { errorResponse, storageFaultResponse } from "./errorResponse.ts"
import { readNodeBody } from "./readNodeBody.ts"
import { requestTarget } from "./requestTarget.ts"

/** The methods a fast path (`FastPath`) takes: see `readsNodeRequest`. */
const NODE_METHODS: ReadonlySet<string> = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"])

/** Names the execution a script's response came from; only script responses carry it. */
export const EXECUTION_HEADER = "x-picloud-execution-id"

/** A text body (not a stream), so the reply carries Content-Length rather than chunked encoding. */
const toHttp = (executionId: string, response: ExecResponse) => {
  const headers = { ...response.headers, [EXECUTION_HEADER]: executionId }
  return response.body === null
    ? HttpServerResponse.empty({ status: response.statusCode, headers })
    : HttpServerResponse.text(response.body, { status: response.statusCode, headers })
}

/** An early answer: the request cannot go on (401, 400, 413); `finish` sends it as the response. */
export class EarlyReply extends Data.TaggedError("EarlyReply")<{
  readonly response: HttpServerResponse.HttpServerResponse
}> {}

/** An early answer with the JSON error body. */
export const earlyReply = (status: number, detail: ErrorDetail, headers?: Record<string, string>) =>
  new EarlyReply({ response: errorResponse(status, detail, headers) })

/**
 * What every synchronous HTTP entry (`/api/execute`, app routes) shares: who the caller is, the
 * request as the script sees it, and running it through the gate with the status table's answers.
 */
export const makeSyncHttp = Effect.gen(function*() {
  const invoker = yield* Invoker
  const gate = yield* ExecutionGate
  const principals = yield* PrincipalResolver
  const maxBodyBytes = yield* Settings.maxRequestBytes.config
  // Closing the connection spares Node reading the rest of a body nobody will use.
  const tooLarge = earlyReply(
    413,
    { code: "payload_too_large", message: `request body is over the limit of ${maxBodyBytes} bytes` },
    { connection: "close" }
  )

  /** The principal of a bearer token (`bearerToken`); `None` without one; an early 401 for a bad one. */
  const principalOf = (bearer: string): Effect.Effect<Option.Option<Principal>, EarlyReply | PersistenceError> =>
    bearer === ""
      ? Effect.succeed(Option.none())
      : principals.fromToken(bearer).pipe(
        Effect.flatMap((principal) =>
          Option.isNone(principal)
            ? Effect.fail(earlyReply(401, { code: "unauthorized", message: "invalid or revoked token" }))
            : Effect.succeed(principal)
        )
      )

  /** The request's caller: see `principalOf`. */
  const caller = (request: HttpServerRequest.HttpServerRequest) =>
    principalOf(bearerToken(request.headers["authorization"]))

  const unreadable = earlyReply(400, { code: "bad_request", message: "could not read the request body" })

  /** The request as the script sees it, its body read already. */
  const requestOf = (
    method: string,
    target: string,
    headers: Headers.Headers,
    params: Record<string, string>,
    body: string
  ): ScriptHttpRequest => {
    const { path, query } = requestTarget(target)
    return { method, path, params, query, headers: scriptHeaders(headers), body }
  }

  /** The request as the script sees it, with `params` captured by a route. */
  const scriptRequest = (request: HttpServerRequest.HttpServerRequest, params: Record<string, string>) =>
    Effect.gen(function*() {
      const declared = Number(request.headers["content-length"] ?? 0)
      if (declared > maxBodyBytes) return yield* Effect.fail(tooLarge)
      // GET and HEAD carry no body: skip the body stream machinery for them.
      const hasBody = !(request.method === "GET" || request.method === "HEAD") || declared > 0 ||
        request.headers["transfer-encoding"] !== undefined
      const body = hasBody
        ? yield* request.text.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBodyBytes)),
          Effect.mapError((error) =>
            error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge" ? tooLarge : unreadable
          )
        )
        : ""
      return requestOf(request.method, request.url, request.headers, params, body)
    })

  /**
   * Whether `nodeScriptRequest` reads a Node request as `scriptRequest` would: a method whose answer
   * has a body (not HEAD, whose answer the router writes without one), and a body whose length is
   * declared (or none) and within the limit. Any other (chunked, too large, a malformed length) goes
   * through `scriptRequest`, which answers it.
   */
  const readsNodeRequest = (request: IncomingMessage) => {
    if (!NODE_METHODS.has(request.method ?? "") || request.headers["transfer-encoding"] !== undefined) return false
    const declared = request.headers["content-length"]
    return declared === undefined || (/^\d{1,10}$/.test(declared) && Number(declared) <= maxBodyBytes)
  }

  /**
   * `scriptRequest` for a Node request (a fast path: `FastPath`) that `readsNodeRequest` accepted. The
   * body is decoded as Effect's request decodes it (UTF-8, a leading BOM dropped). Node's parser
   * ends the body at its declared length, so the limit holds.
   */
  const nodeScriptRequest = (request: IncomingMessage, params: Record<string, string>) =>
    Effect.map(
      Number(request.headers["content-length"] ?? 0) > 0 ? readNodeBody(request, unreadable) : Effect.succeed(""),
      (body) => requestOf(request.method!, request.url!, Headers.fromInput(request.headers), params, body)
    )

  /** Runs the script for the caller and answers with its response, or the status table's error. */
  const run = (target: ResolvedScript, request: ScriptHttpRequest, principal: Option.Option<Principal>) =>
    invoker.invoke(target, { invocation: "http", principal: Option.getOrNull(principal), request }).pipe(
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

  /** Early replies become the response; a storage fault is a 500 (logged), never the client's. */
  const finish = <R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, EarlyReply | PersistenceError, R>) =>
    effect.pipe(
      Effect.catchTags({
        EarlyReply: ({ response }) => Effect.succeed(response),
        PersistenceError: storageFaultResponse
      })
    )

  return { principalOf, caller, scriptRequest, readsNodeRequest, nodeScriptRequest, run, finish }
})
