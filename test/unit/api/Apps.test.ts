import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "../../support/client.ts"

const source = (tag: string) => `export default (req, ctx) => ({ tag: "${tag}", app: ctx.app.name })`

describe("admin API: apps", () => {
  it.live("create, list, get by name or id; names are checked and unique", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const created = yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
      assert.strictEqual(created.status, 201, created.text)
      assert.deepStrictEqual(Object.keys(created.json).sort(), ["created_at", "id", "name"])
      assert.strictEqual((yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })).status, 409)
      for (const name of ["Shop", "has space", "", "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"]) {
        assert.strictEqual((yield* call("POST", "/api/admin/apps", { body: { name } })).status, 400, name)
      }
      const list = yield* call("GET", "/api/admin/apps")
      assert.deepStrictEqual(list.json.items.map((a: { name: string }) => a.name), ["default", "shop"])
      assert.strictEqual((yield* call("GET", "/api/admin/apps/shop")).json.id, created.json.id)
      assert.strictEqual((yield* call("GET", `/api/admin/apps/${created.json.id}`)).json.name, "shop")
      const missing = yield* call("GET", "/api/admin/apps/nope")
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.json.error.code, "app_not_found")
    }))

  it.live("scripts belong to an app: names unique per app, called as /api/execute/{app}/{name}", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
      const inDefault = yield* call("POST", "/api/admin/scripts", { body: { name: "hi", source: source("default") } })
      const inShop = yield* call("POST", "/api/admin/scripts", {
        body: { app: "shop", name: "hi", source: source("shop") }
      })
      assert.strictEqual(inShop.status, 201, inShop.text)
      assert.notStrictEqual(inShop.json.app_id, inDefault.json.app_id)
      assert.strictEqual(
        (yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "hi", source: source("x") } })).status,
        409
      )
      const unknownApp = yield* call("POST", "/api/admin/scripts", {
        body: { app: "nope", name: "hi", source: source("x") }
      })
      assert.strictEqual(unknownApp.status, 404)
      assert.strictEqual(unknownApp.json.error.code, "app_not_found")

      assert.deepStrictEqual((yield* call("GET", "/api/execute/hi")).json, { tag: "default", app: "default" })
      assert.deepStrictEqual((yield* call("GET", "/api/execute/default/hi")).json, { tag: "default", app: "default" })
      assert.deepStrictEqual((yield* call("GET", "/api/execute/shop/hi")).json, { tag: "shop", app: "shop" })
      assert.deepStrictEqual((yield* call("GET", `/api/execute/${inShop.json.id}`)).json, { tag: "shop", app: "shop" })
      assert.strictEqual((yield* call("GET", "/api/execute/nope/hi")).status, 404)

      const shopScripts = yield* call("GET", "/api/admin/scripts?app=shop")
      assert.deepStrictEqual(shopScripts.json.items.map((s: { id: string }) => s.id), [inShop.json.id])
      assert.strictEqual((yield* call("GET", "/api/admin/scripts?app=nope")).status, 404)
    }))

  it.live("an app that holds scripts is deleted only with ?force=true; the default app never", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const app = yield* call("POST", "/api/admin/apps", { body: { name: "tmp" } })
      yield* call("POST", "/api/admin/scripts", { body: { app: "tmp", name: "s", source: source("tmp") } })
      assert.strictEqual((yield* call("GET", "/api/execute/tmp/s")).status, 200)
      const refused = yield* call("DELETE", "/api/admin/apps/tmp")
      assert.strictEqual(refused.status, 409)
      assert.strictEqual(refused.json.error.code, "app_not_empty")
      assert.strictEqual((yield* call("DELETE", "/api/admin/apps/tmp?force=true")).status, 204)
      assert.strictEqual((yield* call("GET", `/api/admin/apps/${app.json.id}`)).status, 404)
      assert.strictEqual(
        (yield* call("GET", "/api/execute/tmp/s")).status,
        404,
        "its scripts went with it, cache included"
      )
      assert.deepStrictEqual((yield* call("GET", "/api/admin/scripts")).json.items, [])
      assert.strictEqual((yield* call("DELETE", "/api/admin/apps/tmp")).status, 404)
      const protectedApp = yield* call("DELETE", "/api/admin/apps/default?force=true")
      assert.strictEqual(protectedApp.status, 409)
      assert.strictEqual(protectedApp.json.error.code, "app_protected")
      const empty = yield* call("POST", "/api/admin/apps", { body: { name: "empty" } })
      assert.strictEqual((yield* call("DELETE", `/api/admin/apps/${empty.json.id}`)).status, 204)
    }))
})

describe("data plane: who may call a script", () => {
  it.live("a token is required; a caller runs the scripts of its apps only; scripts see ctx.principal", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const PASSWORD = "correct horse battery staple"
      yield* call("POST", "/api/admin/apps", { body: { name: "mine" } })
      yield* call("POST", "/api/admin/apps", { body: { name: "theirs" } })
      const who = `export default (req, ctx) => ctx.principal`
      yield* call("POST", "/api/admin/scripts", { body: { app: "mine", name: "who", source: who } })
      yield* call("POST", "/api/admin/scripts", { body: { app: "theirs", name: "who", source: who } })
      yield* call("POST", "/api/admin/users", {
        body: { username: "inv", password: PASSWORD, role: "invoker", apps: ["mine"] }
      })
      const login = yield* call("POST", "/api/admin/login", {
        token: null,
        body: { username: "inv", password: PASSWORD }
      })
      const token: string = login.json.secret

      const anonymous = yield* call("GET", "/api/execute/mine/who", { token: null })
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(anonymous.json.error.code, "unauthorized")
      assert.strictEqual((yield* call("GET", "/api/execute/mine/who", { token: "pc_forged" })).status, 401)

      const mine = yield* call("GET", "/api/execute/mine/who", { token })
      assert.strictEqual(mine.status, 200, mine.text)
      assert.deepStrictEqual(mine.json, { user_id: login.json.token.user_id, username: "inv", role: "invoker" })
      const theirs = yield* call("GET", "/api/execute/theirs/who", { token })
      assert.strictEqual(theirs.status, 404, "another app's script does not exist for this caller")

      const revoked = yield* call("DELETE", `/api/admin/tokens/${login.json.token.id}`, { token })
      assert.strictEqual(revoked.status, 204)
      assert.strictEqual(
        (yield* call("GET", "/api/execute/mine/who", { token })).status,
        401,
        "a revoked token stops working at once"
      )
    }))
})
