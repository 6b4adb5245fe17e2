import { session } from "./session.svelte.ts"

/** An answer of the admin API that is not a success, as its JSON error body words it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly line: number | null = null,
    readonly column: number | null = null
  ) {
    super(message)
  }
}

export interface Principal {
  readonly user_id: string | null
  readonly username: string
  readonly role: string
}

const SAFE_METHODS = new Set(["GET", "HEAD"])

/**
 * Headers every dashboard request sends: the session cookie goes by itself (same origin); a write
 * carries `X-PiCloud-CSRF: 1`, which a cross-site form cannot send, so the API may trust the cookie.
 */
export const requestHeaders = (method: string, extra: Record<string, string> = {}): Record<string, string> => ({
  accept: "application/json",
  ...(SAFE_METHODS.has(method) ? {} : { "x-picloud-csrf": "1" }),
  ...extra
})

const readError = async (response: Response): Promise<ApiError> => {
  const text = await response.text().catch(() => "")
  try {
    const detail = JSON.parse(text).error
    if (detail && typeof detail.message === "string") {
      return new ApiError(
        response.status,
        detail.code ?? "error",
        detail.message,
        detail.line ?? null,
        detail.column ?? null
      )
    }
  } catch {
    // not JSON: a proxy's page, say
  }
  return new ApiError(
    response.status,
    "http_" + response.status,
    `${response.status} ${response.statusText || "error"}`
  )
}

/** `fetch` that never throws a bare TypeError: an unreachable server is an ApiError too. */
export const send = async (path: string, init: RequestInit): Promise<Response> => {
  try {
    return await fetch(path, { credentials: "same-origin", ...init })
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check that PiCloud is running and retry.")
  }
}

/**
 * One call of the admin API (`/api/admin` + `path`), answering the parsed JSON (undefined for a 204).
 * A 401 outside the session endpoints means the session ended: the dashboard shows the login page.
 */
export const api = async <A = unknown>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<A> => {
  const response = await send("/api/admin" + path, {
    method,
    headers: requestHeaders(method, {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers
    }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (!response.ok) {
    const error = await readError(response)
    if (response.status === 401 && path !== "/session") session.user = null
    throw error
  }
  if (response.status === 204) return undefined as A
  return (await response.json()) as A
}

/** What to show for any failure: an ApiError's words, or a generic line for anything else. */
export const messageOf = (error: unknown): string =>
  error instanceof ApiError
    ? error.status === 0 ? error.message : `${error.message} (${error.status} ${error.code})`
    : error instanceof Error
    ? error.message
    : String(error)
