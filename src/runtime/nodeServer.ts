import { Cause, Effect, Exit } from "effect"
import { Cookies, type HttpServerResponse } from "effect/http"
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
  STATUS_CODES
} from "node:http"
import type { Duplex } from "node:stream"
import { errorBody } from "../domain/api/ApiError.ts"
import type { FastPath } from "../orchestrator/http/FastPath.ts"
import { httpAnswered } from "../orchestrator/PlatformMetrics.ts"
import { codeFor, cutOff, finishAnswer } from "./JsonErrors.ts"

/**
 * What Node answers itself, before any handler runs (headers too large: 431; a request that is not
 * HTTP: 400; a request timeout: 408), with the same JSON error body. Node's default writes none.
 */
const answerClientError = (error: NodeJS.ErrnoException, socket: Duplex) => {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy()
    return
  }
  const status = error.code === "HPE_HEADER_OVERFLOW"
    ? 431
    : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
    ? 408
    : 400
  const message = status === 431
    ? "the request's headers are too large"
    : status === 408
    ? "the request took too long to arrive"
    : "malformed HTTP request"
  const body = JSON.stringify(errorBody({ code: codeFor(status), message }))
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${
      Buffer.byteLength(body)
    }\r\nConnection: close\r\n\r\n${body}`
  )
}

/**
 * Writes an answer as Effect's server writes it (status, headers, a body held in memory), or
 * nothing when the client is gone or the answer is written already. The fast routes' answers are
 * JSON errors and script responses, whose bodies are bytes or empty; any other is a fault (500).
 */
const writeAnswer = (response: ServerResponse, answer: HttpServerResponse.HttpServerResponse) => {
  if (response.destroyed || response.writableEnded) return
  let headers: OutgoingHttpHeaders = answer.headers
  if (answer.status === 204 || answer.status === 205) {
    const { "content-length": _, ...rest } = answer.headers
    headers = rest
  }
  if (!Cookies.isEmpty(answer.cookies)) {
    const toSet = Cookies.toSetCookieHeaders(answer.cookies)
    const own = answer.headers["set-cookie"]
    headers = { ...headers, "set-cookie": own === undefined ? toSet : [...toSet, own] }
  }
  const body = answer.body
  try {
    if (body._tag !== "Empty" && body._tag !== "Uint8Array") throw new Error(`a ${body._tag} body`)
    response.writeHead(answer.status, headers)
    const omitsBody = answer.status === 204 || answer.status === 205 || answer.status === 304
    if (body._tag === "Empty" || omitsBody) response.end()
    else response.end(body.body)
  } catch {
    // Headers Node refuses (a script's are checked before: 502), or a body it cannot hold: a 500.
    if (response.headersSent) return void response.destroy()
    response.writeHead(500, { "content-type": "application/json" })
    response.end(JSON.stringify(errorBody({ code: "internal", message: "internal error" })))
  }
}

/**
 * Serves `request` on a fast route (`FastPath`) when one takes it: its answer is finished as the
 * router's are (`finishAnswer`, counted by `httpAnswered`); the client hanging up interrupts it, as
 * the router's server does; interrupted while the client still waits (shutdown's grace period is
 * over), it answers the cut-off 503. A URL with a percent sign goes to the router, which refuses
 * or decodes it (`JsonErrors`).
 */
const serveFast = (fastPath: FastPath["Service"], request: IncomingMessage, response: ServerResponse) => {
  if (request.url === undefined || request.url.includes("%")) return false
  const taken = fastPath.take(request)
  if (taken === undefined) return false
  const fiber = taken.fork(
    finishAnswer(taken.answer).pipe(
      Effect.tap((answer) => httpAnswered(answer.status)),
      Effect.map((answer) => writeAnswer(response, answer))
    )
  )
  fiber.addObserver((exit) => {
    if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) writeAnswer(response, cutOff)
  })
  response.once("close", () => {
    if (!response.writableEnded) fiber.interruptUnsafe()
  })
  return true
}

/**
 * Node's HTTP server, answering its own client errors with a JSON body, and serving the requests a
 * fast route takes before Effect's server sees them. Node hands each request to every `request`
 * listener, Effect's among them, so the fast path sits in `emit`, where it can keep a request it
 * took from that listener.
 */
export const createNodeServer = (fastPath: FastPath["Service"]): Server => {
  const server = createServer().on("clientError", answerClientError)
  const emit = server.emit
  server.emit = function(this: Server, event: string | symbol, ...args: Array<unknown>) {
    if (event === "request" && serveFast(fastPath, args[0] as IncomingMessage, args[1] as ServerResponse)) return true
    return emit.apply(this, [event, ...args] as Parameters<Server["emit"]>)
  } as Server["emit"]
  return server
}
