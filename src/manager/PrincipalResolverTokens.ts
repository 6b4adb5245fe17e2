import { Effect, Layer, Option, Redacted } from "effect"
import * as Settings from "../config/Settings.ts"
import { type Principal, seesApp } from "../domain/Identity.ts"
import { IdentityChanges } from "../domain/IdentityChanges.ts"
import { IdentityRepo } from "../domain/IdentityRepo.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"
import { PrincipalResolver } from "../domain/PrincipalResolver.ts"
import { hashPassword, matchesSecret, newToken, tokenDigest } from "./passwordsAndTokens.ts"

/** The principal of `PICLOUD_ADMIN_TOKEN`: an admin that exists only in configuration. */
const ENV_ADMIN: Principal = {
  user_id: "00000000-0000-4000-8000-00000000a000",
  username: "admin (PICLOUD_ADMIN_TOKEN)",
  role: "admin",
  apps: []
}
/** `last_used_at` is written at most this often per token: not a database write per request. */
const TOUCH_EVERY_MS = 60_000
const MAX_CACHED = 10_000

/**
 * Resolves bearer tokens: `PICLOUD_ADMIN_TOKEN` (compared in constant time) or a stored API token,
 * looked up by its SHA-256 digest. On the very first start without `PICLOUD_ADMIN_TOKEN` it creates
 * an `admin` user with a token and prints that token once; only its digest is kept.
 */
export const layer = Layer.effect(
  PrincipalResolver,
  Effect.gen(function*() {
    const identities = yield* IdentityRepo
    const configured = yield* Settings.adminToken.config
    const envToken = Option.filter(Option.map(configured, Redacted.value), (t) => t.length > 0)

    if (Option.isNone(envToken) && (yield* identities.userCount) === 0) {
      const token = newToken()
      const password = newToken()
      const admin = yield* identities.createUser({
        username: "admin",
        passwordHash: yield* Effect.promise(() => hashPassword(password)),
        role: "admin",
        appIds: []
      })
      yield* identities.createToken({ userId: admin.id, name: "bootstrap", digest: tokenDigest(token) })
      yield* Effect.logWarning(
        `first start: created user 'admin' with the API token ${token} — shown only now, store it safely ` +
          `(and create your own tokens with it; or set PICLOUD_ADMIN_TOKEN)`
      )
    }

    const isEnvToken = Option.isSome(envToken) ? matchesSecret(envToken.value) : () => false
    const touched = new Map<string, number>()
    // Known tokens by digest, so the data plane's hot path makes no database round trip. Unknown
    // tokens are not cached (a flood of made-up tokens must not fill memory). A token that expires
    // (a dashboard session) is forgotten when it does.
    const known = new Map<
      string,
      { readonly tokenId: string; readonly expiresAt: number; readonly principal: Principal }
    >()
    // Untraced: it runs on every request of the data plane, where a span per call is measurable cost.
    const fromToken = Effect.fnUntraced(function*(token: string) {
      if (isEnvToken(token)) return Option.some(ENV_ADMIN)
      const digest = tokenDigest(token)
      let entry = known.get(digest)
      if (entry !== undefined && entry.expiresAt <= Date.now()) {
        known.delete(digest)
        entry = undefined
      }
      if (entry === undefined) {
        const found = yield* identities.findToken(digest)
        if (Option.isNone(found)) return Option.none<Principal>()
        const { expires_at, id } = found.value.token
        entry = {
          tokenId: id,
          expiresAt: expires_at === null ? Infinity : Date.parse(expires_at),
          principal: found.value.principal
        }
        if (known.size >= MAX_CACHED) known.clear()
        known.set(digest, entry)
      }
      const tokenId = entry.tokenId
      const now = Date.now()
      if (now - (touched.get(tokenId) ?? 0) > TOUCH_EVERY_MS) {
        touched.set(tokenId, now)
        yield* identities.touchToken(tokenId).pipe(
          Effect.catch((error) => Effect.logWarning("could not record a token's last use", error.cause)),
          Effect.forkDetach
        )
      }
      return Option.some(entry.principal)
    })
    // Users by id, for triggers' registrants (a database read per triggered execution otherwise);
    // forgotten with the tokens, when a user is deleted.
    const users = new Map<string, Principal>()
    const forUser = Effect.fn("PrincipalResolver.forUser")(function*(userId: string, appId: string) {
      // The configured admin exists as long as its token is configured: no row holds it.
      if (userId === ENV_ADMIN.user_id) return Option.isSome(envToken) ? Option.some(ENV_ADMIN) : Option.none()
      let principal = users.get(userId)
      if (principal === undefined) {
        // A name is not an id: a registrant is always named by its id.
        const found = UUID_PATTERN.test(userId) ? yield* identities.findUser(userId) : Option.none()
        if (Option.isNone(found)) return Option.none<Principal>()
        const { id, username, role, apps } = found.value
        principal = { user_id: id, username, role, apps }
        if (users.size >= MAX_CACHED) users.clear()
        users.set(userId, principal)
      }
      return seesApp(principal, appId) ? Option.some(principal) : Option.none()
    })

    const forgetAll = Effect.sync(() => {
      known.clear()
      users.clear()
    })
    // A user deleted or a token revoked (by this process or, in a cluster, another): forget all.
    yield* (yield* IdentityChanges).listen(() => forgetAll)
    return PrincipalResolver.of({ fromToken, forUser, forgetAll })
  })
)
