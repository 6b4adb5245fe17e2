import { Duration, Effect, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import * as Settings from "../../config/Settings.ts"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, BadRequest, Conflict, TooManyRequests, Unauthorized } from "../../domain/api/ApiError.ts"
import { SESSION_COOKIE } from "../../domain/api/credentials.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { AppNotFound, TokenNotFound, UserNotFound } from "../../domain/Errors.ts"
import { CurrentPrincipal, type Login } from "../../domain/Identity.ts"
import { IdentityRepo } from "../../domain/IdentityRepo.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"
import { Identities } from "../Identities.ts"
import { hashPassword, newToken, tokenDigest, verifyPassword } from "../passwordsAndTokens.ts"
import { apiErrors } from "./apiErrors.ts"
import { requireRole } from "./authorize.ts"
import { LoginThrottle } from "./LoginThrottle.ts"
import { clearSessionCookie, refuseCrossOrigin, setSessionCookie } from "./session.ts"

/** `/api/admin/users`: admins only. */
export const UsersHttp = HttpApiBuilder.group(
  AdminApi,
  "users",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const service = yield* Identities
    const apps = yield* AppRepo
    /** The ids of the apps named (by name or id); an unknown one is AppNotFound. */
    const appIdsOf = (refs: ReadonlyArray<string>) =>
      Effect.forEach(refs, (ref) =>
        apps.findByRef(ref).pipe(
          Effect.flatMap((app) =>
            Option.isNone(app) ? Effect.fail(new AppNotFound({ ref })) : Effect.succeed(app.value.id)
          )
        ))
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const appIds = yield* appIdsOf(payload.apps ?? [])
          const passwordHash = yield* Effect.promise(() => hashPassword(payload.password))
          return yield* identities.createUser({ username: payload.username, passwordHash, role: payload.role, appIds })
        }).pipe(apiErrors))
      .handle("list", () =>
        requireRole("admin").pipe(
          Effect.andThen(identities.listUsers),
          Effect.map((items) => ({ items })),
          apiErrors
        ))
      .handle("get", ({ params }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const user = yield* identities.findUser(params.user)
          if (Option.isNone(user)) return yield* new UserNotFound({ ref: params.user })
          const { passwordHash: _, ...visible } = user.value
          return visible
        }).pipe(apiErrors))
      .handle("grant", ({ params, payload }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const user = yield* identities.findUser(params.user)
          if (Option.isNone(user)) return yield* new UserNotFound({ ref: params.user })
          const appIds = yield* appIdsOf(payload.apps)
          return yield* service.setGrants(user.value.id, appIds).pipe(
            Effect.catchTag("UserNotFound", () => Effect.fail(new UserNotFound({ ref: params.user })))
          )
        }).pipe(apiErrors))
      .handle("delete", ({ params }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin")
          const user = yield* identities.findUser(params.user)
          if (Option.isNone(user)) return yield* new UserNotFound({ ref: params.user })
          if (user.value.id === me.user_id) {
            return yield* apiError(Conflict, "cannot_delete_self", "you cannot delete yourself")
          }
          yield* service.deleteUser(user.value.id).pipe(
            Effect.catchTag("UserNotFound", () => Effect.fail(new UserNotFound({ ref: params.user })))
          )
        }).pipe(apiErrors))
  })
)

/** `/api/admin/tokens`: everyone manages its own tokens; admins may list and revoke anyone's. */
export const TokensHttp = HttpApiBuilder.group(
  AdminApi,
  "tokens",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const service = yield* Identities
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const me = yield* CurrentPrincipal
          if (Option.isNone(yield* identities.findUser(me.user_id))) {
            return yield* apiError(
              Conflict,
              "no_user",
              "the configured admin token has no user to hold tokens; create a user first"
            )
          }
          const secret = newToken()
          const token = yield* identities.createToken({
            userId: me.user_id,
            name: payload.name,
            digest: tokenDigest(secret)
          })
          return { token, secret }
        }).pipe(apiErrors))
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          // Everyone's tokens are for admins: from another role, a refusal rather than its own list.
          if (query.all === "true") {
            yield* requireRole("admin")
            return { items: yield* identities.listTokens(undefined) }
          }
          return { items: yield* identities.listTokens((yield* CurrentPrincipal).user_id) }
        }).pipe(apiErrors))
      .handle("revoke", ({ params }) =>
        Effect.gen(function*() {
          const me = yield* CurrentPrincipal
          const mine = yield* identities.listTokens(me.role === "admin" ? undefined : me.user_id)
          if (!mine.some((t) => t.id === params.id)) return yield* new TokenNotFound({ id: params.id })
          yield* service.revokeToken(params.id)
        }).pipe(apiErrors))
  })
)

/**
 * `POST /api/admin/login`: a username and password for a new token; `POST /api/admin/session`: the
 * same, or a token's secret, for a dashboard session (a new token that expires, in a cookie).
 * Failed passwords are throttled per username.
 */
export const LoginHttp = HttpApiBuilder.group(
  AdminApi,
  "login",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const principals = yield* PrincipalResolver
    const throttle = yield* LoginThrottle
    const sessionLifetime = yield* Settings.sessionLifetime.config

    /** The user whose password this is; a 401 (counted) otherwise, a 429 while locked out. */
    const passwordUser = Effect.fn(function*(payload: typeof Login.Type) {
      const wait = yield* throttle.retryAfter(payload.username)
      if (wait > 0) {
        return yield* new TooManyRequests({
          error: { code: "too_many_attempts", message: `too many failed logins; retry in ${wait} s` },
          retryAfter: wait
        })
      }
      const user = yield* identities.findUser(payload.username)
      // Verify against a real hash even for unknown users, so timing does not tell them apart.
      const stored = Option.isSome(user) ? user.value.passwordHash : UNKNOWN_USER_HASH
      const ok = yield* Effect.promise(() => verifyPassword(payload.password, stored))
      if (!ok || Option.isNone(user)) {
        yield* throttle.failed(payload.username)
        return yield* apiError(Unauthorized, "unauthorized", "wrong username or password")
      }
      yield* throttle.succeeded(payload.username)
      return user.value
    })

    /** The user a token acts as; the configured admin token has none (it exists only in configuration). */
    const tokenUser = Effect.fn(function*(token: string) {
      const principal = yield* principals.fromToken(token)
      if (Option.isNone(principal)) return yield* apiError(Unauthorized, "unauthorized", "invalid or revoked token")
      const user = yield* identities.findUser(principal.value.user_id)
      if (Option.isNone(user)) {
        return yield* apiError(
          BadRequest,
          "no_user",
          "the configured admin token has no user to hold a session; sign in as a user (create one first)"
        )
      }
      return user.value
    })

    return handlers
      .handle("login", ({ payload }) =>
        Effect.gen(function*() {
          const user = yield* passwordUser(payload)
          const secret = newToken()
          const token = yield* identities.createToken({ userId: user.id, name: "login", digest: tokenDigest(secret) })
          return { token, secret }
        }).pipe(apiErrors))
      .handle("signIn", ({ payload }) =>
        Effect.gen(function*() {
          yield* refuseCrossOrigin(yield* HttpServerRequest.HttpServerRequest)
          const user = "token" in payload ? yield* tokenUser(payload.token) : yield* passwordUser(payload)
          // Never the presented token itself: a session is a token of its own, which expires.
          const secret = newToken()
          yield* identities.createToken({
            userId: user.id,
            name: SESSION_TOKEN_NAME,
            digest: tokenDigest(secret),
            expiresAt: new Date(Date.now() + Duration.toMillis(sessionLifetime))
          })
          yield* setSessionCookie(secret, sessionLifetime)
          return { user_id: user.id, username: user.username, role: user.role }
        }).pipe(apiErrors))
  })
)

/** What a dashboard session's token is named, in token listings. */
export const SESSION_TOKEN_NAME = "session"

/**
 * `/api/admin/session`: who the caller is; signing out revokes the session cookie's token (a token
 * the caller holds) and clears the cookie.
 */
export const SessionHttp = HttpApiBuilder.group(
  AdminApi,
  "session",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const service = yield* Identities
    return handlers
      .handle("get", () =>
        Effect.gen(function*() {
          const { user_id, username, role } = yield* CurrentPrincipal
          return { user_id, username, role }
        }))
      .handle("delete", () =>
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const secret = request.cookies[SESSION_COOKIE]
          if (secret !== undefined && secret !== "") {
            const found = yield* identities.findToken(tokenDigest(secret))
            if (Option.isSome(found)) {
              // Revoked meanwhile by someone else: signed out all the same.
              yield* service.revokeToken(found.value.token.id).pipe(Effect.catchTag("TokenNotFound", () => Effect.void))
            }
          }
          yield* clearSessionCookie
        }).pipe(apiErrors))
  })
)

/** A valid scrypt hash of no password anyone knows. */
const UNKNOWN_USER_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
