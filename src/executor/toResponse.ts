import type { ExecResponse } from "../domain/Exec.ts"

type Described =
  | { readonly kind: "empty" }
  | { readonly kind: "text"; readonly body: string }
  | { readonly kind: "json"; readonly body: string }
  | {
    readonly kind: "response"
    readonly statusCode: number
    readonly headers: unknown
    readonly body: string | null
    readonly json: boolean
  }
  | { readonly kind: "invalid"; readonly message: string }

/** What Node's `validateHeaderName` and `validateHeaderValue` accept: anything else would throw while replying. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const UNSENDABLE_VALUE = /[^\t\x20-\x7e\x80-\xff]/
/** A response carries at most this many headers (README, Limits). */
export const MAX_RESPONSE_HEADERS = 100
/** Headers the platform owns: a script setting them would corrupt the framing of the reply. */
const RESERVED = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"])

class InvalidResponse extends Error {
  override readonly name = "InvalidResponse"
}
class ResponseTooLarge extends Error {
  override readonly name = "ResponseTooLarge"
}

/** The body's bytes plus the headers' (names and values, sent as Latin-1: a byte a character) against the limit. */
const sized = (body: string | null, headerBytes: number, max: number) => {
  if (headerBytes + (body === null ? 0 : Buffer.byteLength(body)) > max) {
    return new ResponseTooLarge(`the response (body and headers) is over the limit of ${max} bytes`)
  }
  return undefined
}

/**
 * Turns the guest's description of its result into the HTTP response to send (README, the script contract:
 * `{statusCode, headers, body}` as given; any other value a 200; `undefined` a 204), or an error
 * saying what is wrong with it.
 */
export const toResponse = (
  describedJson: string,
  maxBytes: number
): Omit<ExecResponse, "logs" | "logsTruncated" | "durationMs"> | InvalidResponse | ResponseTooLarge => {
  // Spares parsing a description that cannot fit: JSON spells a character in at most 6.
  if (describedJson.length > maxBytes * 6 + 1024) {
    return new ResponseTooLarge(`the response (body and headers) is over the limit of ${maxBytes} bytes`)
  }
  const described = JSON.parse(describedJson) as Described
  switch (described.kind) {
    case "empty":
      return { statusCode: 204, headers: {}, body: null }
    case "invalid":
      return new InvalidResponse(described.message)
    case "text":
      return sized(described.body, 0, maxBytes) ?? {
        statusCode: 200,
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: described.body
      }
    case "json":
      return sized(described.body, 0, maxBytes) ?? {
        statusCode: 200,
        headers: { "content-type": "application/json" },
        body: described.body
      }
    case "response": {
      const { statusCode, headers: rawHeaders } = described
      if (!Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) {
        return new InvalidResponse(`statusCode must be an integer from 200 to 599, got ${statusCode}`)
      }
      if (rawHeaders === null || typeof rawHeaders !== "object" || Array.isArray(rawHeaders)) {
        return new InvalidResponse("headers must be an object of strings")
      }
      const entries = Object.entries(rawHeaders)
      if (entries.length > MAX_RESPONSE_HEADERS) {
        return new ResponseTooLarge(
          `the response has ${entries.length} headers, over the limit of ${MAX_RESPONSE_HEADERS}`
        )
      }
      const headers: Record<string, string> = {}
      let headerBytes = 0
      for (const [name, value] of entries) {
        if (typeof value !== "string" && typeof value !== "number") {
          return new InvalidResponse(`header ${JSON.stringify(name)} must be a string`)
        }
        const text = String(value)
        if (!TOKEN.test(name) || UNSENDABLE_VALUE.test(text)) {
          return new InvalidResponse(`header ${JSON.stringify(name)} is not a valid HTTP header`)
        }
        headerBytes += name.length + text.length
        const lower = name.toLowerCase()
        if (!RESERVED.has(lower)) headers[lower] = text
      }
      if (described.json && headers["content-type"] === undefined) headers["content-type"] = "application/json"
      if (!described.json && described.body !== null && headers["content-type"] === undefined) {
        headers["content-type"] = "text/plain; charset=utf-8"
      }
      const noBody = statusCode === 204 || statusCode === 304
      return sized(described.body, headerBytes, maxBytes) ??
        { statusCode, headers, body: noBody ? null : described.body }
    }
  }
}
