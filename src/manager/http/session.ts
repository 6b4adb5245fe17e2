import { Duration, Effect } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { apiError, Forbidden } from "../../domain/api/ApiError.ts"
import { SESSION_COOKIE } from "../../domain/api/credentials.ts"

/**
 * The dashboard's session cookie and the rules around it (README "Dashboard sign-in"). The cookie
 * holds a token's secret: `HttpOnly` (no page script reads it), `SameSite=Strict` (no other site's
 * page sends it), `Path=/`, `Secure` when the request came over HTTPS.
 */

/** The header a cookie-authenticated write must carry: a custom header is never sent cross-site without a CORS preflight, which PiCloud never grants. */
export const CSRF_HEADER = "x-picloud-csrf"

/** Whether the request came over HTTPS: TLS, or a proxy that says so (`X-Forwarded-Proto`). */
export const overHttps = (request: HttpServerRequest.HttpServerRequest) => {
  const forwarded = request.headers["x-forwarded-proto"]?.split(",")[0]?.trim().toLowerCase()
  if (forwarded !== undefined && forwarded !== "") return forwarded === "https"
  return request.protocol === "https" || /^https:/i.test(request.originalUrl)
}

/** The origin the request was addressed to (`X-Forwarded-Host` when a proxy rewrote `Host`). */
const ownOrigin = (request: HttpServerRequest.HttpServerRequest) => {
  const host = request.headers["x-forwarded-host"]?.split(",")[0]?.trim() || request.headers.host ||
    originalHost(request.originalUrl)
  return `${overHttps(request) ? "https" : "http"}://${host}`.toLowerCase()
}

const originalHost = (url: string) => {
  try {
    return new URL(url).host
  } catch {
    return ""
  }
}

/**
 * A 403 for a request sent from another origin: one with an `Origin` header (browsers send it on
 * every cross-origin request and every POST) that is not the request's own.
 */
export const refuseCrossOrigin = (request: HttpServerRequest.HttpServerRequest) => {
  const origin = request.headers.origin
  return origin === undefined || origin.toLowerCase() === ownOrigin(request)
    ? Effect.void
    : Effect.fail(apiError(Forbidden, "cross_origin", "a request from another origin may not use the session"))
}

/**
 * What a request authenticated by the session cookie must pass: no other `Origin`, and, for a
 * method other than GET and HEAD, `X-PiCloud-CSRF: 1`.
 */
export const checkCookieRequest = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.andThen(
    refuseCrossOrigin(request),
    request.method === "GET" || request.method === "HEAD" || request.headers[CSRF_HEADER] === "1"
      ? Effect.void
      : Effect.fail(apiError(Forbidden, "csrf_required", "a write with the session cookie needs X-PiCloud-CSRF: 1"))
  )

const cookieOptions = (request: HttpServerRequest.HttpServerRequest) => ({
  httpOnly: true,
  sameSite: "strict" as const,
  path: "/",
  secure: overHttps(request)
})

/** Sets the session cookie on the response to this request; it lasts as long as its token. */
export const setSessionCookie = (secret: string, lifetime: Duration.Duration) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) =>
      HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.orDie(
          HttpServerResponse.setCookie(response, SESSION_COOKIE, secret, {
            ...cookieOptions(request),
            maxAge: Duration.seconds(Math.max(1, Math.ceil(Duration.toSeconds(lifetime))))
          })
        )
      )
  )

/** Clears the session cookie (`Max-Age=0`) on the response to this request. */
export const clearSessionCookie = Effect.flatMap(
  HttpServerRequest.HttpServerRequest,
  (request) =>
    HttpEffect.appendPreResponseHandler((_request, response) =>
      Effect.orDie(HttpServerResponse.expireCookie(response, SESSION_COOKIE, cookieOptions(request)))
    )
)
