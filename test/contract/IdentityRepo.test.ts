import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import { IdentityRepo } from "../../src/domain/IdentityRepo.ts"
import * as AppRepoMemory from "../../src/manager/AppRepoMemory.ts"
import * as AppRepoSql from "../../src/manager/AppRepoSql.ts"
import * as IdentityRepoMemory from "../../src/manager/IdentityRepoMemory.ts"
import * as IdentityRepoSql from "../../src/manager/IdentityRepoSql.ts"
import { tokenDigest } from "../../src/manager/passwordsAndTokens.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`

const contract = (name: string, repoLayer: Layer.Layer<IdentityRepo | AppRepo, unknown>) =>
  layer(repoLayer, { timeout: "60 seconds" })(`IdentityRepo (${name})`, (it) => {
    it.effect("users: create with grants, find by id or username, unique names, delete", () =>
      Effect.gen(function*() {
        const repo = yield* IdentityRepo
        const apps = yield* AppRepo
        const app = yield* apps.create({ name: unique("grant") })
        const username = unique("dev")
        const user = yield* repo.createUser({
          username,
          passwordHash: "scrypt$x",
          role: "developer",
          appIds: [app.id, app.id]
        })
        assert.deepStrictEqual(user.apps, [app.id])
        assert.notProperty(user, "passwordHash")
        const found = Option.getOrThrow(yield* repo.findUser(username))
        assert.strictEqual(found.id, user.id)
        assert.strictEqual(found.passwordHash, "scrypt$x")
        assert.strictEqual(Option.getOrThrow(yield* repo.findUser(user.id)).username, username)
        assert.strictEqual(
          (yield* repo.createUser({ username, passwordHash: "y", role: "admin", appIds: [] }).pipe(Effect.flip))._tag,
          "UsernameTaken"
        )
        assert.include((yield* repo.listUsers).map((u) => u.id), user.id)
        assert.isAtLeast(yield* repo.userCount, 1)
        const other = yield* apps.create({ name: unique("grant") })
        const regranted = yield* repo.setGrants(user.id, [other.id, other.id])
        assert.deepStrictEqual(regranted.apps, [other.id])
        assert.deepStrictEqual(Option.getOrThrow(yield* repo.findUser(user.id)).apps, [other.id])
        assert.deepStrictEqual((yield* repo.setGrants(user.id, [])).apps, [])
        yield* repo.deleteUser(user.id)
        assert.isTrue(Option.isNone(yield* repo.findUser(user.id)))
        assert.strictEqual((yield* repo.setGrants(user.id, [app.id]).pipe(Effect.flip))._tag, "UserNotFound")
        assert.strictEqual((yield* repo.setGrants("not-a-uuid", []).pipe(Effect.flip))._tag, "UserNotFound")
        assert.strictEqual((yield* repo.deleteUser(user.id).pipe(Effect.flip))._tag, "UserNotFound")
      }))

    it.effect("a ref shaped like a UUID names a user by id only, never by a username of that shape", () =>
      Effect.gen(function*() {
        const repo = yield* IdentityRepo
        const victim = yield* repo.createUser({
          username: unique("victim"),
          passwordHash: "h",
          role: "invoker",
          appIds: []
        })
        // Such usernames are refused by the API now, but may be stored from before.
        const shaped = yield* repo.createUser({
          username: victim.id.toUpperCase(),
          passwordHash: "h",
          role: "invoker",
          appIds: []
        })
        const other = yield* repo.createUser({
          username: "6f1c1a52-0d1e-4b7c-9d3e-" + Date.now().toString(16).padStart(12, "0").slice(-12),
          passwordHash: "h",
          role: "invoker",
          appIds: []
        })
        assert.strictEqual(
          Option.getOrThrow(yield* repo.findUser(shaped.username)).id,
          victim.id,
          "the id it spells, in any case"
        )
        assert.isTrue(Option.isNone(yield* repo.findUser(other.username)), "no user has that id")
        assert.strictEqual(Option.getOrThrow(yield* repo.findUser(other.id)).username, other.username)
      }))

    it.effect("tokens: found by digest with their principal, listed, touched, revoked, gone with their user", () =>
      Effect.gen(function*() {
        const repo = yield* IdentityRepo
        const user = yield* repo.createUser({ username: unique("tok"), passwordHash: "h", role: "invoker", appIds: [] })
        const digest = tokenDigest(unique("secret"))
        const token = yield* repo.createToken({ userId: user.id, name: "ci", digest })
        assert.isNull(token.last_used_at)
        const found = Option.getOrThrow(yield* repo.findToken(digest))
        assert.strictEqual(found.token.id, token.id)
        assert.deepStrictEqual(found.principal, {
          user_id: user.id,
          username: user.username,
          role: "invoker",
          apps: []
        })
        yield* repo.touchToken(token.id)
        assert.isString((yield* repo.listTokens(user.id))[0]!.last_used_at)
        assert.include((yield* repo.listTokens(undefined)).map((t) => t.id), token.id)
        yield* repo.revokeToken(token.id)
        assert.isTrue(Option.isNone(yield* repo.findToken(digest)))
        assert.deepStrictEqual(yield* repo.listTokens(user.id), [])
        assert.strictEqual((yield* repo.revokeToken(token.id).pipe(Effect.flip))._tag, "TokenNotFound")

        const other = tokenDigest(unique("other"))
        yield* repo.createToken({ userId: user.id, name: "second", digest: other })
        yield* repo.deleteUser(user.id)
        assert.isTrue(Option.isNone(yield* repo.findToken(other)))
      }))

    it.effect("a token with an end: found and listed until then, as good as revoked after", () =>
      Effect.gen(function*() {
        const repo = yield* IdentityRepo
        const user = yield* repo.createUser({ username: unique("exp"), passwordHash: "h", role: "invoker", appIds: [] })
        const live = tokenDigest(unique("live"))
        const ends = new Date(Date.now() + 3600_000)
        const token = yield* repo.createToken({ userId: user.id, name: "session", digest: live, expiresAt: ends })
        assert.strictEqual(Date.parse(token.expires_at!), ends.getTime())
        assert.strictEqual(Option.getOrThrow(yield* repo.findToken(live)).token.expires_at, token.expires_at)
        const ended = tokenDigest(unique("ended"))
        yield* repo.createToken({
          userId: user.id,
          name: "session",
          digest: ended,
          expiresAt: new Date(Date.now() - 1000)
        })
        assert.isTrue(Option.isNone(yield* repo.findToken(ended)))
        assert.deepStrictEqual((yield* repo.listTokens(user.id)).map((t) => t.id), [token.id])
        const forever = yield* repo.createToken({ userId: user.id, name: "ci", digest: tokenDigest(unique("ci")) })
        assert.isNull(forever.expires_at)
      }))

    it.effect("a new session deletes the user's ended sessions, and nothing else", () =>
      Effect.gen(function*() {
        const repo = yield* IdentityRepo
        const newUser = (name: string) =>
          repo.createUser({ username: unique(name), passwordHash: "h", role: "invoker", appIds: [] })
        const [user, other] = [yield* newUser("prune"), yield* newUser("keep")]
        const session = (userId: string, expiresAt: Date) =>
          repo.createToken({ userId, name: "session", digest: tokenDigest(unique("s")), expiresAt })
        const past = new Date(Date.now() - 1000)
        const future = new Date(Date.now() + 3600_000)
        const ended = yield* session(user.id, past)
        const othersEnded = yield* session(other.id, past)
        const forever = yield* repo.createToken({ userId: user.id, name: "ci", digest: tokenDigest(unique("ci")) })
        const live = yield* session(user.id, future)
        // Revoking a row that is still there succeeds, even an expired one: gone, it is not found.
        const revoked = yield* Effect.flip(repo.revokeToken(ended.id))
        assert.strictEqual(revoked._tag, "TokenNotFound")
        yield* repo.revokeToken(othersEnded.id)
        assert.deepStrictEqual((yield* repo.listTokens(user.id)).map((t) => t.id).sort(), [forever.id, live.id].sort())
      }))
  })

contract("memory", Layer.merge(IdentityRepoMemory.layer, AppRepoMemory.layer))
contract("sql", Layer.merge(IdentityRepoSql.layer, AppRepoSql.layer).pipe(Layer.provideMerge(TestDatabase)))

layer(Layer.merge(IdentityRepoSql.layer, AppRepoSql.layer).pipe(Layer.provideMerge(TestDatabase)), {
  timeout: "60 seconds"
})("IdentityRepo (sql only)", (it) => {
  it.effect("no secret is stored in plain text: tokens as SHA-256 digests", () =>
    Effect.gen(function*() {
      const repo = yield* IdentityRepo
      const { SqlClient } = yield* Effect.promise(() => import("effect/sql"))
      const sql = yield* SqlClient.SqlClient
      const user = yield* repo.createUser({
        username: unique("plain"),
        passwordHash: "scrypt$hash",
        role: "admin",
        appIds: []
      })
      const secret = "pc_super-secret-value"
      yield* repo.createToken({ userId: user.id, name: "t", digest: tokenDigest(secret) })
      const rows = yield* sql<{ dump: string }>`SELECT row_to_json(t)::text AS dump FROM api_tokens t`
      assert.isFalse(rows.some((r) => r.dump.includes(secret)))
      assert.isTrue(rows.some((r) => r.dump.includes(tokenDigest(secret))))
    }))

  it.effect("sessions ended by signing out are deleted too: a user's rows stay as many as its live sessions", () =>
    Effect.gen(function*() {
      const repo = yield* IdentityRepo
      const { SqlClient } = yield* Effect.promise(() => import("effect/sql"))
      const sql = yield* SqlClient.SqlClient
      const user = yield* repo.createUser({ username: unique("out"), passwordHash: "h", role: "invoker", appIds: [] })
      const signIn = repo.createToken({
        userId: user.id,
        name: "session",
        digest: tokenDigest(unique("s")),
        expiresAt: new Date(Date.now() + 3600_000)
      })
      for (let i = 0; i < 5; i++) yield* repo.revokeToken((yield* signIn).id)
      yield* signIn
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM api_tokens WHERE user_id = ${user.id}`
      assert.strictEqual(rows[0]!.n, 1)
    }))
})
