import { Effect } from "effect"
import { makeMemoryHandler } from "../../src/runtime/Memory.ts"

export const ADMIN_TOKEN = "test-admin-token"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: any
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
  } = {}) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = { ...options.headers }
      const token = options.token === undefined ? ADMIN_TOKEN : options.token
      if (token !== null) headers.authorization = `Bearer ${token}`
      let body: string | undefined
      if (options.body !== undefined) {
        body = typeof options.body === "string" ? options.body : JSON.stringify(options.body)
        headers["content-type"] ??= "application/json"
      }
      const response = await handler(new Request(`http://picloud.test${path}`, { method, headers, body: body ?? null }))
      const text = await response.text()
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, text, json }
    })

/** A fresh in-memory platform for one test, released when the test's scope closes. */
export const memoryPlatform = Effect.acquireRelease(
  Effect.sync(() => makeMemoryHandler(ADMIN_TOKEN)),
  ({ dispose }) => Effect.promise(dispose)
).pipe(Effect.map(({ handler }) => makeClient(handler)))
