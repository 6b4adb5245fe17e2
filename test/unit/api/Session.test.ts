import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeMemoryHandler } from "../../../src/runtime/Memory.ts"
import { ADMIN_TOKEN, makeClient, memoryPlatform, sessionCookie } from "../../support/client.ts"

const PASSWORD = "correct horse battery staple"
const CSRF = { "x-picloud-csrf": "1" }

/** A memory platform with settings of its own (a short session lifetime). */
const platformWith = (config: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => makeMemoryHandler(ADMIN_TOKEN, config)),
    ({ dispose }) => Effect.promise(dispose)
  ).pipe(Effect.map(({ handler }) => makeClient(handler)))

type Call = Effect.Success<typeof memoryPlatform>

const createUser = (call: Call, username: string, role = "admin") =>
  Effect.gen(function*() {
    const user = yield* call("POST", "/api/admin/users", { body: { username, password: PASSWORD, role } })
    assert.strictEqual(user.status, 201, user.text)
    return user.json
  })

/** Signs in with a password; the session cookie as a `Cookie` header sends it back. */
const signIn = (call: Call, username: string) =>
  Effect.gen(function*() {
    const reply = yield* call("POST", "/api/admin/session", { token: null, body: { username, password: PASSWORD } })
    assert.strictEqual(reply.status, 201, reply.text)
    const cookie = sessionCookie(reply)
    assert.isDefined(cookie, "a session cookie is set")
    return { reply, ...cookie! }
  })

describe("admin API: dashboard sessions", () => {
  it.live("a password sign-in sets an HttpOnly, SameSite=Strict cookie holding a new, expiring session token", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const alice = yield* createUser(call, "alice", "developer")
      const { reply, cookie, value, attributes } = yield* signIn(call, "alice")
      assert.deepStrictEqual(reply.json, { user_id: alice.id, username: "alice", role: "developer" })
      assert.isTrue(value.startsWith("pc_"), "the cookie holds a token's secret")
      assert.notInclude(reply.text, value, "the body never holds the secret")
      assert.includeMembers(attributes, ["HttpOnly", "SameSite=Strict", "Path=/", `Max-Age=${12 * 3600}`])
      assert.notInclude(attributes, "Secure", "plain HTTP: no Secure, or the browser would drop it")

      const me = yield* call("GET", "/api/admin/session", { cookie })
      assert.strictEqual(me.status, 200, me.text)
      assert.deepStrictEqual(me.json, { user_id: alice.id, username: "alice", role: "developer" })

      // A real token, recognisable in the user's own token list, with its end.
      const tokens = yield* call("GET", "/api/admin/tokens", { cookie })
      assert.strictEqual(tokens.status, 200, tokens.text)
      const session = tokens.json.items.find((t: any) => t.name === "session")
      assert.isDefined(session)
      const lifetime = Date.parse(session.expires_at) - Date.parse(session.created_at)
      assert.approximately(lifetime, 12 * 3600_000, 5_000)
    }))

  it.live("Secure is set when the request came over HTTPS (X-Forwarded-Proto)", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* createUser(call, "alice")
      const reply = yield* call("POST", "/api/admin/session", {
        token: null,
        body: { username: "alice", password: PASSWORD },
        headers: { "x-forwarded-proto": "https" }
      })
      assert.strictEqual(reply.status, 201, reply.text)
      assert.include(sessionCookie(reply)!.attributes, "Secure")
    }))

  it.live("signing out revokes the session token and clears the cookie; it needs the CSRF header", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* createUser(call, "alice")
      const { cookie } = yield* signIn(call, "alice")

      const forged = yield* call("DELETE", "/api/admin/session", { cookie })
      assert.strictEqual(forged.status, 403, forged.text)
      assert.strictEqual(forged.json.error.code, "csrf_required")
      assert.strictEqual((yield* call("GET", "/api/admin/session", { cookie })).status, 200, "still signed in")

      const out = yield* call("DELETE", "/api/admin/session", { cookie, headers: CSRF })
      assert.strictEqual(out.status, 204, out.text)
      const cleared = sessionCookie(out)
      assert.isDefined(cleared)
      assert.strictEqual(cleared!.value, "")
      assert.includeMembers(cleared!.attributes, ["Max-Age=0", "HttpOnly", "Path=/"])

      const after = yield* call("GET", "/api/admin/session", { cookie })
      assert.strictEqual(after.status, 401, after.text)
      assert.strictEqual((yield* call("GET", "/api/admin/apps", { cookie })).status, 401)
      const tokens = (yield* call("GET", "/api/admin/tokens?all=true")).json.items
      assert.isFalse(tokens.some((t: any) => t.name === "session"), "the session token is revoked")
    }))

  it.live("an expired session is a 401, and its token no longer listed", () =>
    Effect.gen(function*() {
      const call = yield* platformWith({ PICLOUD_SESSION_LIFETIME: "300 millis" })
      yield* createUser(call, "alice")
      const { cookie, attributes } = yield* signIn(call, "alice")
      assert.include(attributes, "Max-Age=1", "a lifetime under a second rounds up, never to 0")
      assert.strictEqual((yield* call("GET", "/api/admin/session", { cookie })).status, 200)
      yield* Effect.sleep("400 millis")
      const expired = yield* call("GET", "/api/admin/session", { cookie })
      assert.strictEqual(expired.status, 401, expired.text)
      assert.include(expired.json.error.message, "sign in again")
      const tokens = (yield* call("GET", "/api/admin/tokens?all=true")).json.items
      assert.isFalse(tokens.some((t: any) => t.name === "session"))
    }))

  it.live("a token sign-in makes a new session token for its user; never the pasted token in the cookie", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const bob = yield* createUser(call, "bob", "invoker")
      const login = yield* call("POST", "/api/admin/login", {
        token: null,
        body: { username: "bob", password: PASSWORD }
      })
      const pasted = login.json.secret as string
      const reply = yield* call("POST", "/api/admin/session", { token: null, body: { token: pasted } })
      assert.strictEqual(reply.status, 201, reply.text)
      assert.deepStrictEqual(reply.json, { user_id: bob.id, username: "bob", role: "invoker" })
      const { cookie, value } = sessionCookie(reply)!
      assert.notStrictEqual(value, pasted)
      // Revoking the pasted token leaves the session: it is a token of its own.
      const revoked = yield* call("DELETE", `/api/admin/tokens/${login.json.token.id}`)
      assert.strictEqual(revoked.status, 204, revoked.text)
      assert.strictEqual((yield* call("GET", "/api/admin/session", { cookie })).json.username, "bob")

      const unknown = yield* call("POST", "/api/admin/session", { token: null, body: { token: "pc_made-up" } })
      assert.strictEqual(unknown.status, 401, unknown.text)
      assert.isUndefined(sessionCookie(unknown))
      // A token PostgreSQL could not hold, or over its bound, is refused at the edge.
      for (const token of ["a\u0000b", "\ud800", "x".repeat(2000), ""]) {
        const bad = yield* call("POST", "/api/admin/session", { token: null, body: { token } })
        assert.strictEqual(bad.status, 400, bad.text)
      }
    }))

  it.live("the configured admin token has no user: signing in with it is a 400 no_user, and no cookie", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const reply = yield* call("POST", "/api/admin/session", { token: null, body: { token: ADMIN_TOKEN } })
      assert.strictEqual(reply.status, 400, reply.text)
      assert.strictEqual(reply.json.error.code, "no_user")
      assert.isUndefined(sessionCookie(reply))
    }))

  it.live("password sign-ins go through the login throttle: 429 with Retry-After, shared with POST /login", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* createUser(call, "alice")
      const attempt = (path: string, password: string) =>
        call("POST", path, { token: null, body: { username: "alice", password } })
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* attempt("/api/admin/session", "wrong!")).status, 401)
      for (let i = 0; i < 2; i++) assert.strictEqual((yield* attempt("/api/admin/login", "wrong!")).status, 401)
      const locked = yield* attempt("/api/admin/session", PASSWORD)
      assert.strictEqual(locked.status, 429, locked.text)
      assert.strictEqual(locked.json.error.code, "too_many_attempts")
      assert.isTrue(Number(locked.headers.get("retry-after")) > 0)
      assert.isUndefined(sessionCookie(locked))
    }))

  it.live("a sign-in from another origin is refused (403), so no other site can sign a browser in", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* createUser(call, "alice")
      const body = { username: "alice", password: PASSWORD }
      const foreign = yield* call("POST", "/api/admin/session", {
        token: null,
        body,
        headers: { origin: "https://evil.example" }
      })
      assert.strictEqual(foreign.status, 403, foreign.text)
      assert.strictEqual(foreign.json.error.code, "cross_origin")
      assert.isUndefined(sessionCookie(foreign))
      const same = yield* call("POST", "/api/admin/session", {
        token: null,
        body,
        headers: { origin: "http://picloud.test" }
      })
      assert.strictEqual(same.status, 201, same.text)
    }))

  it.live("cookie-authenticated writes need X-PiCloud-CSRF: 1 and no foreign Origin; reads and bearer writes do not", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* createUser(call, "alice")
      const { cookie } = yield* signIn(call, "alice")

      const noHeader = yield* call("POST", "/api/admin/apps", { cookie, body: { name: "shop" } })
      assert.strictEqual(noHeader.status, 403, noHeader.text)
      assert.strictEqual(noHeader.json.error.code, "csrf_required")
      const wrongValue = yield* call("POST", "/api/admin/apps", {
        cookie,
        body: { name: "shop" },
        headers: { "x-picloud-csrf": "yes" }
      })
      assert.strictEqual(wrongValue.status, 403, wrongValue.text)
      const foreign = yield* call("POST", "/api/admin/apps", {
        cookie,
        body: { name: "shop" },
        headers: { ...CSRF, origin: "https://evil.example" }
      })
      assert.strictEqual(foreign.status, 403, foreign.text)
      assert.strictEqual(foreign.json.error.code, "cross_origin")
      const foreignRead = yield* call("GET", "/api/admin/apps", { cookie, headers: { origin: "http://evil.example" } })
      assert.strictEqual(foreignRead.status, 403, foreignRead.text)
      assert.strictEqual((yield* call("GET", "/api/admin/apps")).json.items.length, 1, "nothing was created")

      const ok = yield* call("POST", "/api/admin/apps", {
        cookie,
        body: { name: "shop" },
        headers: { ...CSRF, origin: "http://picloud.test" }
      })
      assert.strictEqual(ok.status, 201, ok.text)
      assert.strictEqual((yield* call("GET", "/api/admin/apps", { cookie })).status, 200)
      const bearer = yield* call("POST", "/api/admin/apps", { body: { name: "blog" } })
      assert.strictEqual(bearer.status, 201, bearer.text)
    }))

  it.live("the bearer wins over the cookie: its principal acts, and a bad bearer is a 401 whatever the cookie", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* createUser(call, "alice")
      yield* createUser(call, "bob", "invoker")
      const { cookie } = yield* signIn(call, "alice")
      const bob = yield* call("POST", "/api/admin/login", {
        token: null,
        body: { username: "bob", password: PASSWORD }
      })

      const asBob = yield* call("GET", "/api/admin/session", { cookie, token: bob.json.secret })
      assert.strictEqual(asBob.json.username, "bob")
      const bad = yield* call("GET", "/api/admin/session", { cookie, token: "pc_made-up" })
      assert.strictEqual(bad.status, 401, bad.text)
      assert.strictEqual(bad.json.error.message, "invalid or revoked token")
      // A bearer write needs no CSRF header, even with the cookie beside it.
      const write = yield* call("POST", "/api/admin/tokens", { cookie, token: bob.json.secret, body: { name: "ci" } })
      assert.strictEqual(write.status, 201, write.text)
    }))

  it.live("without a bearer or a cookie, /session is a 401", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      for (const method of ["GET", "DELETE"]) {
        const reply = yield* call(method, "/api/admin/session", { token: null })
        assert.strictEqual(reply.status, 401, reply.text)
      }
      const junk = yield* call("GET", "/api/admin/session", { cookie: "picloud_session=pc_made-up" })
      assert.strictEqual(junk.status, 401, junk.text)
    }))

  it.live("a real session cookie sent to an app's route is not seen by the script, nor kept in its record", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* createUser(call, "alice")
      const { cookie, value } = yield* signIn(call, "alice")
      yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
      const source =
        `export default (req) => { console.log(JSON.stringify(req.headers)); return { headers: req.headers } }`
      assert.strictEqual(
        (yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "spy", source } })).status,
        201
      )
      const route = yield* call("POST", "/api/admin/routes", {
        body: { app: "shop", method: "GET", path: "/spy", auth: "none", script: "spy" }
      })
      assert.strictEqual(route.status, 201, route.text)
      const seen = yield* call("GET", "/shop/spy", { cookie: `theme=dark; ${cookie}` })
      assert.strictEqual(seen.status, 200, seen.text)
      assert.strictEqual(seen.json.headers.cookie, "theme=dark")
      assert.notInclude(seen.text, value)
      const records = yield* call("GET", "/api/admin/executions?app=shop")
      assert.isAbove(records.json.items.length, 0)
      for (const item of records.json.items) {
        const detail = yield* call("GET", `/api/admin/executions/${item.id}`)
        assert.notInclude(detail.text, value)
      }
    }))
})
