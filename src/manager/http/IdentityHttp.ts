import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, TooManyRequests, Unauthorized } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { AppNotFound, TokenNotFound, UserNotFound } from "../../domain/Errors.ts"
import { CurrentPrincipal } from "../../domain/Identity.ts"
import { IdentityRepo } from "../../domain/IdentityRepo.ts"
import { Identities } from "../Identities.ts"
import { hashPassword, newToken, tokenDigest, verifyPassword } from "../passwordsAndTokens.ts"
import { apiErrors } from "./apiErrors.ts"
import { requireRole } from "./authorize.ts"
import { LoginThrottle } from "./LoginThrottle.ts"

/** `/api/admin/users`: admins only. */
export const UsersHttp = HttpApiBuilder.group(
  AdminApi,
  "users",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const service = yield* Identities
    const apps = yield* AppRepo
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const appIds: Array<string> = []
          for (const ref of payload.apps ?? []) {
            const app = yield* apps.findByRef(ref)
            if (Option.isNone(app)) return yield* new AppNotFound({ ref })
            appIds.push(app.value.id)
          }
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

/** `POST /api/admin/login`: a username and password for a new token; failures are throttled. */
export const LoginHttp = HttpApiBuilder.group(
  AdminApi,
  "login",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const throttle = yield* LoginThrottle
    return handlers.handle("login", ({ payload }) =>
      Effect.gen(function*() {
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
        const secret = newToken()
        const token = yield* identities.createToken({
          userId: user.value.id,
          name: "login",
          digest: tokenDigest(secret)
        })
        return { token, secret }
      }).pipe(apiErrors))
  })
)

/** A valid scrypt hash of no password anyone knows. */
const UNKNOWN_USER_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
