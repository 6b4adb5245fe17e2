import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { DEFAULT_RETRY_POLICY } from "../../../src/domain/RetryPolicy.ts"
import { memoryPlatform } from "../../support/client.ts"

const echo =
  `export default (req, ctx) => ({ path: req.path, params: req.params, method: req.method, who: ctx.principal && ctx.principal.username })`

const setup = Effect.gen(function*() {
  const call = yield* memoryPlatform
  yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
  yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "echo", source: echo } })
  const route = (body: Record<string, unknown>) =>
    call("POST", "/api/admin/routes", { body: { app: "shop", script: "echo", ...body } })
  return { call, route }
})

describe("routes: /{app}/{path}", () => {
  it.live("captures :params and a trailing *rest; literal beats :param beats *rest; methods must match", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      const created = yield* route({ method: "GET", path: "/orders/:id" })
      assert.strictEqual(created.status, 201, created.text)
      assert.deepStrictEqual(
        { ...created.json, id: undefined, app_id: undefined, script_id: undefined, created_at: undefined },
        {
          id: undefined,
          app_id: undefined,
          script_id: undefined,
          created_at: undefined,
          method: "GET",
          path: "/orders/:id",
          dispatch_mode: "sync",
          auth: "none",
          retry: DEFAULT_RETRY_POLICY,
          dead_letter_script_id: null
        }
      )
      assert.strictEqual((yield* route({ method: "GET", path: "/orders/new" })).status, 201)
      assert.strictEqual((yield* route({ method: "ANY", path: "/files/*rest" })).status, 201)
      assert.strictEqual((yield* route({ method: "GET", path: "/orders/*all" })).status, 201)

      const order = yield* call("GET", "/shop/orders/42", { token: null })
      assert.strictEqual(order.status, 200, order.text)
      assert.deepStrictEqual(order.json, { path: "/shop/orders/42", params: { id: "42" }, method: "GET", who: null })
      assert.deepStrictEqual((yield* call("GET", "/shop/orders/new", { token: null })).json.params, {})
      assert.deepStrictEqual((yield* call("GET", "/shop/orders/42/items", { token: null })).json.params, {
        all: "42/items"
      })
      assert.deepStrictEqual((yield* call("DELETE", "/shop/files/a/b%20c/d", { token: null })).json.params, {
        rest: "a/b c/d"
      })
      assert.strictEqual((yield* call("POST", "/shop/orders/42", { token: null })).status, 404, "no POST route")
      assert.strictEqual((yield* call("GET", "/other/orders/42", { token: null })).status, 404)
      const missing = yield* call("GET", "/shop/nothing", { token: null })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.json.error.code, "not_found")
    }))

  it.live("a route of the same shape is 409; bad paths, bad retry policies, reserved app names and foreign scripts are refused", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      yield* route({ method: "GET", path: "/orders/:id" })
      assert.strictEqual((yield* route({ method: "GET", path: "/orders/:other" })).status, 409)
      assert.strictEqual(
        (yield* route({ method: "POST", path: "/orders/:other" })).status,
        201,
        "another method is another route"
      )
      for (const path of ["orders", "/a/*rest/b", "/a/:x/:x", "/bad segment", "/:1x"]) {
        assert.strictEqual((yield* route({ method: "GET", path })).status, 400, path)
      }
      for (
        const retry of [{ backoff: "random" }, { max_attempts: 0 }, { max_attempts: 101 }, { initial_delay_ms: 1.5 }, {
          jitter: "yes"
        }]
      ) {
        assert.strictEqual(
          (yield* route({ method: "GET", path: "/later", dispatch_mode: "async", retry })).status,
          400,
          JSON.stringify(retry)
        )
      }
      const async = yield* route({
        method: "GET",
        path: "/later",
        dispatch_mode: "async",
        retry: { backoff: "linear", max_attempts: 2 }
      })
      assert.strictEqual(async.status, 201, async.text)
      assert.deepStrictEqual(async.json.retry, { ...DEFAULT_RETRY_POLICY, backoff: "linear", max_attempts: 2 })
      assert.strictEqual((yield* call("POST", "/api/admin/apps", { body: { name: "api" } })).status, 400)
      yield* call("POST", "/api/admin/scripts", { body: { name: "elsewhere", source: echo } })
      assert.strictEqual(
        (yield* route({ method: "GET", path: "/x", script: "elsewhere" })).status,
        404,
        "the script must be in the route's app"
      )
      assert.strictEqual((yield* call("GET", "/health", { token: null })).status, 200, "reserved paths still answer")
      assert.strictEqual((yield* call("GET", "/api/nothing", { token: null })).status, 404)
    }))

  it.live("'.' and '..' segments, paths over 1024 characters or 32 segments, and retry on a sync route are refused with a message", () =>
    Effect.gen(function*() {
      const { route } = yield* setup
      const refused = [
        [{ method: "GET", path: "/a/./b" }, "'.'"],
        [{ method: "GET", path: "/a/.." }, "'..'"],
        [{ method: "GET", path: "/." }, "'.'"],
        [{ method: "GET", path: `/${"a".repeat(1024)}` }, "1024"],
        [{ method: "GET", path: "/s".repeat(33) }, "32"],
        [{ method: "GET", path: "/sync", retry: { max_attempts: 2 } }, "retry"],
        [{ method: "GET", path: "/sync", dispatch_mode: "sync", retry: {} }, "retry"],
        [{ method: "GET", path: "/sync", dead_letter_script: "echo" }, "dead_letter_script"]
      ] as const
      for (const [body, mentions] of refused) {
        const res = yield* route(body)
        assert.strictEqual(res.status, 400, `${JSON.stringify(body).slice(0, 60)}: ${res.text.slice(0, 200)}`)
        assert.include(res.json.error.message, mentions)
      }
      for (const path of ["/a.b/..c/.d.", `/${"a".repeat(1023)}`, "/s".repeat(32)]) {
        assert.strictEqual((yield* route({ method: "GET", path })).status, 201, path.slice(0, 60))
      }
      assert.strictEqual(
        (yield* route({ method: "GET", path: "/later", dispatch_mode: "async", retry: { max_attempts: 2 } })).status,
        201
      )
    }))

  it.live("an async route's dead_letter_script is a script of its app, by name or id, shown by id; deleting it takes it off the route", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      const handler = yield* call("POST", "/api/admin/scripts", {
        body: { app: "shop", name: "on-dead", source: echo }
      })
      const byName = yield* route({ method: "POST", path: "/a", dispatch_mode: "async", dead_letter_script: "on-dead" })
      assert.strictEqual(byName.status, 201, byName.text)
      assert.strictEqual(byName.json.dead_letter_script_id, handler.json.id)
      const byId = yield* route({
        method: "POST",
        path: "/b",
        dispatch_mode: "async",
        dead_letter_script: handler.json.id
      })
      assert.strictEqual(byId.json.dead_letter_script_id, handler.json.id)
      assert.strictEqual(
        (yield* call("GET", `/api/admin/routes/${byId.json.id}`)).json.dead_letter_script_id,
        handler.json.id
      )

      yield* call("POST", "/api/admin/scripts", { body: { name: "elsewhere", source: echo } })
      for (const ref of ["elsewhere", "nothing"]) {
        const refused = yield* route({ method: "POST", path: "/c", dispatch_mode: "async", dead_letter_script: ref })
        assert.strictEqual(refused.status, 404, refused.text)
        assert.include(refused.json.error.message, ref)
      }

      assert.strictEqual((yield* call("DELETE", `/api/admin/scripts/${handler.json.id}`)).status, 204)
      const after = yield* call("GET", `/api/admin/routes/${byName.json.id}`)
      assert.strictEqual(after.status, 200, "the route stays")
      assert.isNull(after.json.dead_letter_script_id)
    }))

  it.live("auth: none is public (a token, if sent, must be valid); auth: token needs a caller granted the app", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      yield* route({ method: "GET", path: "/public" })
      yield* route({ method: "GET", path: "/private", auth: "token" })
      const PASSWORD = "correct horse battery staple"
      yield* call("POST", "/api/admin/apps", { body: { name: "elsewhere" } })
      yield* call("POST", "/api/admin/users", {
        body: { username: "member", password: PASSWORD, role: "invoker", apps: ["shop"] }
      })
      yield* call("POST", "/api/admin/users", {
        body: { username: "outsider", password: PASSWORD, role: "invoker", apps: ["elsewhere"] }
      })
      const member =
        (yield* call("POST", "/api/admin/login", { token: null, body: { username: "member", password: PASSWORD } }))
          .json.secret
      const outsider =
        (yield* call("POST", "/api/admin/login", { token: null, body: { username: "outsider", password: PASSWORD } }))
          .json.secret

      assert.strictEqual((yield* call("GET", "/shop/public", { token: null })).json.who, null)
      assert.strictEqual((yield* call("GET", "/shop/public", { token: member })).json.who, "member")
      assert.strictEqual((yield* call("GET", "/shop/public", { token: "pc_bogus" })).status, 401)
      assert.strictEqual((yield* call("GET", "/shop/private", { token: null })).status, 401)
      assert.strictEqual(
        (yield* call("GET", "/shop/private", { token: outsider })).status,
        404,
        "another app's route is not revealed"
      )
      const ok = yield* call("GET", "/shop/private", { token: member })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.json.who, "member")
    }))

  it.live("deleting a route, or its script, takes it off the table at once", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      const one = yield* route({ method: "GET", path: "/one" })
      yield* route({ method: "GET", path: "/two" })
      assert.strictEqual((yield* call("GET", "/shop/one", { token: null })).status, 200)
      assert.strictEqual((yield* call("DELETE", `/api/admin/routes/${one.json.id}`)).status, 204)
      assert.strictEqual((yield* call("GET", "/shop/one", { token: null })).status, 404)
      assert.strictEqual((yield* call("GET", `/api/admin/routes/${one.json.id}`)).status, 404)
      const list = yield* call("GET", "/api/admin/routes?app=shop")
      assert.deepStrictEqual(list.json.items.map((r: { path: string }) => r.path), ["/two"])

      const script = (yield* call("GET", "/api/admin/scripts?app=shop")).json.items[0]
      assert.strictEqual((yield* call("DELETE", `/api/admin/scripts/${script.id}`)).status, 204)
      assert.strictEqual((yield* call("GET", "/shop/two", { token: null })).status, 404)
      assert.deepStrictEqual((yield* call("GET", "/api/admin/routes?app=shop")).json.items, [])
    }))
})
