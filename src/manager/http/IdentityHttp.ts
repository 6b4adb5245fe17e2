import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, NotFound, TooManyRequests, Unauthorized } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { CurrentPrincipal } from "../../domain/Identity.ts"
import { IdentityRepo } from "../../domain/IdentityRepo.ts"
import { PrincipalResolver } from "../../domain/PrincipalResolver.ts"
import { hashPassword, newToken, tokenDigest, verifyPassword } from "../passwordsAndTokens.ts"
import { requireRole } from "./authorize.ts"
import { internalError } from "./internalError.ts"
import { LoginThrottle } from "./LoginThrottle.ts"

const userNotFound = (ref: string) => apiError(NotFound, "user_not_found", `no user ${ref}`)

/** `/api/admin/users`: admins only. */
export const UsersHttp = HttpApiBuilder.group(
  AdminApi,
  "users",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const principals = yield* PrincipalResolver
    const apps = yield* AppRepo
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const appIds: Array<string> = []
          for (const ref of payload.apps ?? []) {
            const app = yield* apps.findByRef(ref)
            if (Option.isNone(app)) return yield* apiError(NotFound, "app_not_found", `no app ${ref}`)
            appIds.push(app.value.id)
          }
          const passwordHash = yield* Effect.promise(() => hashPassword(payload.password))
          return yield* identities.createUser({ username: payload.username, passwordHash, role: payload.role, appIds })
        }).pipe(
          Effect.catchTags({
            UsernameTaken: (e) =>
              Effect.fail(apiError(Conflict, "username_taken", `a user named ${e.username} exists`)),
            PersistenceError: internalError
          })
        ))
      .handle("list", () =>
        requireRole("admin").pipe(
          Effect.andThen(identities.listUsers),
          Effect.map((items) => ({ items })),
          Effect.catchTag("PersistenceError", internalError)
        ))
      .handle("get", ({ params }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const user = yield* identities.findUser(params.user)
          if (Option.isNone(user)) return yield* userNotFound(params.user)
          const { passwordHash: _, ...visible } = user.value
          return visible
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
      .handle("delete", ({ params }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin")
          const user = yield* identities.findUser(params.user)
          if (Option.isNone(user)) return yield* userNotFound(params.user)
          if (user.value.id === me.user_id) {
            return yield* apiError(Conflict, "cannot_delete_self", "you cannot delete yourself")
          }
          yield* identities.deleteUser(user.value.id)
          yield* principals.forgetAll
        }).pipe(
          Effect.catchTags({ UserNotFound: (e) => Effect.fail(userNotFound(e.ref)), PersistenceError: internalError })
        ))
  })
)

/** `/api/admin/tokens`: everyone manages its own tokens; admins may list and revoke anyone's. */
export const TokensHttp = HttpApiBuilder.group(
  AdminApi,
  "tokens",
  Effect.fn(function*(handlers) {
    const identities = yield* IdentityRepo
    const principals = yield* PrincipalResolver
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
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          // Everyone's tokens are for admins: from another role, a refusal rather than its own list.
          if (query.all === "true") {
            yield* requireRole("admin")
            return { items: yield* identities.listTokens(undefined) }
          }
          return { items: yield* identities.listTokens((yield* CurrentPrincipal).user_id) }
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
      .handle("revoke", ({ params }) =>
        Effect.gen(function*() {
          const me = yield* CurrentPrincipal
          const mine = yield* identities.listTokens(me.role === "admin" ? undefined : me.user_id)
          if (!mine.some((t) => t.id === params.id)) {
            return yield* apiError(NotFound, "token_not_found", `no token ${params.id}`)
          }
          yield* identities.revokeToken(params.id)
          yield* principals.forgetAll
        }).pipe(
          Effect.catchTags({
            TokenNotFound: (e) => Effect.fail(apiError(NotFound, "token_not_found", `no token ${e.id}`)),
            PersistenceError: internalError
          })
        ))
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
      }).pipe(Effect.catchTag("PersistenceError", internalError)))
  })
)

/** A valid scrypt hash of no password anyone knows. */
const UNKNOWN_USER_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
