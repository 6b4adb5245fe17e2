/**
 * The platform's own credentials in a request, and how they are kept from scripts. The platform
 * consumes `Authorization: Bearer <token>` (any case of the scheme, RFC 9110 §11.1) and, once the
 * dashboard signs people in, its session cookie; a script, an execution record, a dead letter or a
 * log never sees either. Everything else (another authorization scheme, the app's own cookies) is
 * the script's: the platform did not consume it.
 */

/** The dashboard's session cookie (set by the admin API, HttpOnly). */
export const SESSION_COOKIE = "picloud_session"

const BEARER = /^bearer\s+/i

/** The token of an `Authorization: Bearer <token>` header, or "" when there is none. */
export const bearerToken = (authorization: string | undefined) => {
  const scheme = authorization === undefined ? null : BEARER.exec(authorization)
  return scheme === null ? "" : authorization!.slice(scheme[0].length).trim()
}

/** A `Cookie` header without the platform's session cookie; `undefined` when nothing else is left. */
const withoutSessionCookie = (cookie: string) => {
  const kept = cookie.split(";").filter((pair) => pair.split("=", 1)[0]!.trim() !== SESSION_COOKIE)
  return kept.length === 0 ? undefined : kept.join(";").trim()
}

/**
 * A request's headers as a script sees them: one string per lower-case name (Node joins repeated
 * headers itself; a repeated `Cookie` with `; `), without the platform's credentials.
 */
export const scriptHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  const visible: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const text = typeof value === "string" ? value : value.join(name === "cookie" ? "; " : ", ")
    if (name === "authorization" && BEARER.test(text)) continue
    if (name === "cookie") {
      const cookie = withoutSessionCookie(text)
      if (cookie !== undefined) visible[name] = cookie
      continue
    }
    visible[name] = text
  }
  return visible
}
