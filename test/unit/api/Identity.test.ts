import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "../../support/client.ts"

const PASSWORD = "correct horse battery staple"

describe("admin API: users, tokens, login", () => {
  it.live("PUT /users/{user}/apps replaces a user's grants; its token acts with them at once", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      for (const name of ["shop", "blog"]) {
        assert.strictEqual((yield* call("POST", "/api/admin/apps", { body: { name } })).status, 201)
      }
      const dev = yield* call("POST", "/api/admin/users", {
        body: { username: "dev", password: PASSWORD, role: "developer", apps: ["shop"] }
      })
      assert.strictEqual(dev.status, 201, dev.text)
      const token =
        (yield* call("POST", "/api/admin/login", { token: null, body: { username: "dev", password: PASSWORD } }))
          .json.secret
      // The token is used (and its principal cached) before the grants change.
      assert.strictEqual((yield* call("GET", "/api/admin/apps/blog/secrets", { token })).status, 404)
      const granted = yield* call("PUT", "/api/admin/users/dev/apps", { body: { apps: ["blog", "blog"] } })
      assert.strictEqual(granted.status, 200, granted.text)
      const blog = (yield* call("GET", "/api/admin/apps/blog")).json.id
      assert.deepStrictEqual(granted.json.apps, [blog])
      assert.deepStrictEqual((yield* call("GET", `/api/admin/users/${dev.json.id}`)).json.apps, [blog])
      assert.strictEqual((yield* call("GET", "/api/admin/apps/blog/secrets", { token })).status, 200)
      assert.strictEqual((yield* call("GET", "/api/admin/apps/shop/secrets", { token })).status, 404)
      const none = yield* call("PUT", "/api/admin/users/dev/apps", { body: { apps: [] } })
      assert.deepStrictEqual(none.json.apps, [])
    }))

  it.live("PUT /users/{user}/apps: an unknown user or app is a 404 that changes nothing; a list too long or not a list is a 400", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
      yield* call("POST", "/api/admin/users", {
        body: { username: "dev", password: PASSWORD, role: "developer", apps: ["shop"] }
      })
      const noUser = yield* call("PUT", "/api/admin/users/nobody/apps", { body: { apps: ["shop"] } })
      assert.strictEqual(noUser.status, 404, noUser.text)
      assert.strictEqual(noUser.json.error.code, "user_not_found")
      const noApp = yield* call("PUT", "/api/admin/users/dev/apps", { body: { apps: ["nope"] } })
      assert.strictEqual(noApp.status, 404, noApp.text)
      assert.strictEqual(noApp.json.error.code, "app_not_found")
      assert.strictEqual((yield* call("GET", "/api/admin/users/dev")).json.apps.length, 1)
      const tooMany = yield* call("PUT", "/api/admin/users/dev/apps", {
        body: { apps: Array.from({ length: 1001 }, (_, i) => `app-${i}`) }
      })
      assert.strictEqual(tooMany.status, 400, tooMany.text)
      assert.include(tooMany.json.error.message, "at most 1000")
      const notList = yield* call("PUT", "/api/admin/users/dev/apps", { body: { apps: "shop" } })
      assert.strictEqual(notList.status, 400, notList.text)
    }))

  it.live("a username shaped like a UUID is refused, so a name can never stand for another user's id", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const victim = yield* call("POST", "/api/admin/users", {
        body: { username: "victim", password: PASSWORD, role: "invoker" }
      })
      assert.strictEqual(victim.status, 201, victim.text)
      for (const username of [victim.json.id, "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"]) {
        const impostor = yield* call("POST", "/api/admin/users", {
          body: { username, password: PASSWORD, role: "invoker" }
        })
        assert.strictEqual(impostor.status, 400, impostor.text)
        assert.include(impostor.json.error.message, "UUID")
      }
      assert.strictEqual((yield* call("GET", `/api/admin/users/${victim.json.id}`)).json.username, "victim")
      assert.strictEqual((yield* call("GET", "/api/admin/users")).json.items.length, 1)
    }))

  it.live("a UUID in /users/{user} is read as an id only, a name as a name only", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const alice = yield* call("POST", "/api/admin/users", {
        body: { username: "alice", password: PASSWORD, role: "invoker" }
      })
      assert.strictEqual((yield* call("GET", `/api/admin/users/${alice.json.id}`)).json.username, "alice")
      assert.strictEqual((yield* call("GET", "/api/admin/users/alice")).json.id, alice.json.id)
      assert.strictEqual((yield* call("GET", "/api/admin/users/6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11")).status, 404)
    }))

  it.live("five failed logins lock a username out: 429 with Retry-After, for the right password too; others are not affected", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/users", { body: { username: "bob", password: PASSWORD, role: "invoker" } })
      yield* call("POST", "/api/admin/users", { body: { username: "carol", password: PASSWORD, role: "invoker" } })
      const login = (username: string, password: string) =>
        call("POST", "/api/admin/login", { token: null, body: { username, password } })
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* login("bob", "wrong password!")).status, 401)
      for (const password of ["wrong password!", PASSWORD]) {
        const locked = yield* login("bob", password)
        assert.strictEqual(locked.status, 429, locked.text)
        assert.strictEqual(locked.json.error.code, "too_many_attempts")
        const retryAfter = Number(locked.headers.get("retry-after"))
        assert.isTrue(
          Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 15 * 60,
          `Retry-After: ${locked.headers.get("retry-after")}`
        )
        assert.include(locked.json.error.message, `${retryAfter} s`)
      }
      assert.strictEqual((yield* login("carol", PASSWORD)).status, 201)
    }))

  it.live("a login name that is not a valid username is a 400, checked before the lockout counts it", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      for (const username of ["x".repeat(65), "a\u0000b", "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"]) {
        const res = yield* call("POST", "/api/admin/login", { token: null, body: { username, password: PASSWORD } })
        assert.strictEqual(res.status, 400, username.slice(0, 10))
        assert.include(res.json.error.message, "username")
      }
    }))

  it.live("GET /tokens?all=true is for admins: another role gets 403, not its own tokens", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/users", { body: { username: "dev", password: PASSWORD, role: "developer" } })
      const dev =
        (yield* call("POST", "/api/admin/login", { token: null, body: { username: "dev", password: PASSWORD } })).json
      const all = yield* call("GET", "/api/admin/tokens?all=true", { token: dev.secret })
      assert.strictEqual(all.status, 403, all.text)
      assert.strictEqual(all.json.error.code, "forbidden")
      const mine = yield* call("GET", "/api/admin/tokens?all=false", { token: dev.secret })
      assert.deepStrictEqual(mine.json.items.map((t: { id: string }) => t.id), [dev.token.id])
      assert.strictEqual((yield* call("GET", "/api/admin/tokens", { token: dev.secret })).status, 200)
    }))
})
