/**
 * The test-run panel's form as the admin API's `POST /scripts/{id}/test-run` body: pure, so it is
 * tested without a browser (test/unit/dashboard/testRequest.test.ts).
 */
export interface TestRunForm {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: string
  readonly body: string
}

export interface TestRunPayload {
  readonly method: string
  readonly path: string
  readonly query: Record<string, string>
  readonly headers: Record<string, string>
  readonly body?: string
}

/** `Name: value` a line (blank lines skipped) as a record; a line without a name is an Error that quotes it. */
export const parseHeaders = (text: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue
    const at = line.indexOf(":")
    if (at <= 0 || line.slice(0, at).trim() === "") {
      throw new Error(`A header line must read "Name: value": ${JSON.stringify(line)}`)
    }
    headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim()
  }
  return headers
}

/** `?a=1&b=2` or `a=1&b=2` as a record (a repeated name keeps its last value, as the data plane does). */
export const parseQuery = (text: string): Record<string, string> => {
  const trimmed = text.trim()
  return Object.fromEntries(new URLSearchParams(trimmed.startsWith("?") ? trimmed.slice(1) : trimmed))
}

/** The request to send; GET and DELETE carry no body, and a path without its leading `/` gets one. */
export const testRunPayload = (form: TestRunForm): TestRunPayload => {
  const path = form.path.trim() === "" ? "/" : form.path.trim()
  const hasBody = form.method !== "GET" && form.method !== "DELETE" && form.body !== ""
  return {
    method: form.method,
    path: path.startsWith("/") ? path : "/" + path,
    query: parseQuery(form.query),
    headers: parseHeaders(form.headers),
    ...(hasBody ? { body: form.body } : {})
  }
}

/** A response body for reading: JSON indented, anything else as it came. */
export const prettyBody = (body: string, headers: Readonly<Record<string, string>>): string => {
  const type = Object.entries(headers).find(([name]) => name.toLowerCase() === "content-type")?.[1] ?? ""
  if (!type.includes("json")) return body
  try {
    return JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    return body
  }
}
