import { assert } from "@effect/vitest"
import { Effect } from "effect"
import * as ExecutorInline from "../../src/executor/ExecutorInline.ts"
import { makeMemoryHandler } from "../../src/runtime/Memory.ts"

/** An answer's body as JSON, or undefined when it is not JSON (a test then asserts on the text). */
export const jsonOrUndefined = (text: string): any => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export const ADMIN_TOKEN = "test-admin-token"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: any
}

/**
 * The body. An event stream does not end by itself: its text is what its first chunk holds (the
 * opening comment, at least), and then the reader hangs up.
 */
const bodyText = async (response: Response) => {
  if (!response.headers.get("content-type")?.startsWith("text/event-stream") || response.body === null) {
    return response.text()
  }
  const reader = response.body.getReader()
  const first = await reader.read()
  await reader.cancel()
  return first.value === undefined ? "" : new TextDecoder().decode(first.value)
}

/**
 * A client for the in-memory platform: real routing, real schemas, real sandbox, memory storage.
 * `body` objects are sent as JSON; strings as they are.
 */
export const makeClient =
  (handler: (request: Request) => Promise<Response>) =>
  (method: string, path: string, options: {
    readonly body?: unknown
    readonly token?: string | null
    readonly headers?: Record<string, string>
    /** A `Cookie` header; with it, no bearer token unless `token` names one. */
    readonly cookie?: string
  } = {}) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = { ...options.headers }
      const token = options.token === undefined ? (options.cookie === undefined ? ADMIN_TOKEN : null) : options.token
      if (token !== null) headers.authorization = `Bearer ${token}`
      if (options.cookie !== undefined) headers.cookie = options.cookie
      let body: string | undefined
      if (options.body !== undefined) {
        body = typeof options.body === "string" ? options.body : JSON.stringify(options.body)
        headers["content-type"] ??= "application/json"
      }
      const response = await handler(new Request(`http://picloud.test${path}`, { method, headers, body: body ?? null }))
      const text = await bodyText(response)
      return { status: response.status, headers: response.headers, text, json: jsonOrUndefined(text) }
    })

/**
 * The `picloud_session` cookie a reply sets, as a `Cookie` header would send it back (`undefined`
 * when it sets none), and its attributes as written.
 */
export const sessionCookie = (reply: Reply) => {
  const header = reply.headers.getSetCookie().find((line) => line.startsWith("picloud_session="))
  if (header === undefined) return undefined
  const [pair, ...attributes] = header.split(";").map((part) => part.trim())
  return { cookie: pair!, value: pair!.slice("picloud_session=".length), attributes }
}

/**
 * A fresh in-memory platform for one test, with `config` added to its settings and `executor` in
 * place of the inline one; released when the test's scope closes.
 */
export const memoryPlatformWith = (config: Record<string, string> = {}, executor = ExecutorInline.layer) =>
  Effect.acquireRelease(
    Effect.sync(() => makeMemoryHandler(ADMIN_TOKEN, config, executor)),
    ({ dispose }) => Effect.promise(dispose)
  ).pipe(Effect.map(({ handler }) => makeClient(handler)))

/** A fresh in-memory platform for one test, released when the test's scope closes. */
export const memoryPlatform = memoryPlatformWith()

/** Asserts a reply's status (its text is the message otherwise) and answers its JSON. */
export const ok = (status: number) => (res: { status: number; text: string; json: any }) =>
  Effect.sync(() => {
    assert.strictEqual(res.status, status, res.text)
    return res.json
  })
