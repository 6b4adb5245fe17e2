import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SESSION_COOKIE } from "../../../src/domain/api/credentials.ts"
import { ADMIN_TOKEN, memoryPlatform } from "../../support/client.ts"

/** Logs and returns every header the script sees, so a leak would show in the reply, the record and the dead letter. */
const spy = `export default (req) => { console.log(JSON.stringify(req.headers)); return { headers: req.headers } }`
const spyThenFail =
  `export default (req) => { console.log(JSON.stringify(req.headers)); throw new Error("fail with " + JSON.stringify(req.headers)) }`

const setup = Effect.gen(function*() {
  const call = yield* memoryPlatform
  yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
  for (const [name, source] of [["spy", spy], ["spyfail", spyThenFail]]) {
    const created = yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name, source } })
    assert.strictEqual(created.status, 201, created.text)
  }
  return call
})

const assertNoToken = (label: string, text: string) => {
  assert.notInclude(text, ADMIN_TOKEN, label)
  assert.notInclude(text, "session-secret", label)
}

describe("the platform's credentials never reach a script, a record or a dead letter", () => {
  it.live("a bearer token (any case of the scheme) and the session cookie are removed; other schemes and cookies stay", () =>
    Effect.gen(function*() {
      const call = yield* setup
      for (const route of [{ path: "/spy", auth: "none" }, { path: "/tokened", auth: "token" }]) {
        const created = yield* call("POST", "/api/admin/routes", {
          body: { app: "shop", method: "GET", script: "spy", ...route }
        })
        assert.strictEqual(created.status, 201, created.text)
      }
      const cookie = `theme=dark; ${SESSION_COOKIE}=session-secret; cart=3`
      const calls = [
        yield* call("GET", "/api/execute/shop/spy", { headers: { cookie } }),
        yield* call("GET", "/shop/spy", { headers: { cookie } }),
        yield* call("GET", "/shop/tokened", { headers: { cookie } }),
        // The scheme is case-insensitive: a lower-case one is the platform's token all the same.
        yield* call("GET", "/shop/spy", {
          token: null,
          headers: { authorization: `bearer ${ADMIN_TOKEN}`, cookie: `${SESSION_COOKIE}=session-secret` }
        })
      ]
      for (const res of calls) {
        assert.strictEqual(res.status, 200, res.text)
        assertNoToken("reply", res.text)
        assert.isUndefined(res.json.headers.authorization)
        const record = yield* call("GET", `/api/admin/executions/${res.headers.get("x-picloud-execution-id")}`)
        assert.strictEqual(record.status, 200, record.text)
        assertNoToken("record", record.text)
      }
      assert.strictEqual(calls[0]!.json.headers.cookie, "theme=dark; cart=3")
      assert.isUndefined(calls[3]!.json.headers.cookie, "nothing left of the cookie header")

      // A scheme the platform does not consume is the route's own (a webhook signature, Basic auth).
      const basic = yield* call("GET", "/shop/spy", { token: null, headers: { authorization: "Basic dXNlcjpwYXNz" } })
      assert.strictEqual(basic.status, 200, basic.text)
      assert.strictEqual(basic.json.headers.authorization, "Basic dXNlcjpwYXNz")
    }))

  it.live("an async request that ends in a dead letter keeps neither the token nor the session cookie", () =>
    Effect.gen(function*() {
      const call = yield* setup
      const created = yield* call("POST", "/api/admin/routes", {
        body: {
          app: "shop",
          method: "POST",
          path: "/hook",
          script: "spyfail",
          dispatch_mode: "async",
          retry: { max_attempts: 1 }
        }
      })
      assert.strictEqual(created.status, 201, created.text)
      const accepted = yield* call("POST", "/shop/hook", {
        body: { n: 1 },
        headers: { cookie: `${SESSION_COOKIE}=session-secret; a=b` }
      })
      assert.strictEqual(accepted.status, 202, accepted.text)
      const { execution_id } = accepted.json
      const dead = yield* call("GET", `/api/executions/${execution_id}?wait=10`, { token: null })
      assert.strictEqual(dead.json.status, "dead_lettered", dead.text)
      assertNoToken("status", dead.text)
      const letter = yield* call("GET", `/api/admin/dead-letters/${execution_id}`)
      assert.strictEqual(letter.status, 200, letter.text)
      assertNoToken("dead letter", letter.text)
      assert.strictEqual(letter.json.request.headers.cookie, "a=b")
      assertNoToken("record", (yield* call("GET", `/api/admin/executions/${execution_id}`)).text)
    }))

  it.live("another app's auth: token route is a 404, as a missing one is (its existence is not revealed)", () =>
    Effect.gen(function*() {
      const call = yield* setup
      yield* call("POST", "/api/admin/apps", { body: { name: "other" } })
      yield* call("POST", "/api/admin/routes", {
        body: { app: "shop", method: "GET", path: "/private", script: "spy", auth: "token" }
      })
      const user = yield* call("POST", "/api/admin/users", {
        body: { username: "dev", password: "a-long-password-1", role: "developer", apps: ["other"] }
      })
      assert.strictEqual(user.status, 201, user.text)
      const login = yield* call("POST", "/api/admin/login", {
        token: null,
        body: { username: "dev", password: "a-long-password-1" }
      })
      const token = login.json.secret as string
      const hidden = yield* call("GET", "/shop/private", { token })
      const missing = yield* call("GET", "/shop/nothing-here", { token })
      assert.strictEqual(hidden.status, 404, hidden.text)
      assert.deepStrictEqual(hidden.json, missing.json)
      assert.strictEqual((yield* call("GET", "/shop/private", { token: null })).status, 401)
      assert.strictEqual((yield* call("GET", "/shop/private")).status, 200)
    }))
})
