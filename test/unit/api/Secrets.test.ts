import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "../../support/client.ts"

describe("admin API: secrets", () => {
  it.live("stored, listed by name only, read by scripts as ctx.env, replaced, deleted", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
      yield* call("POST", "/api/admin/scripts", {
        body: { app: "shop", name: "env", source: `export default (req, ctx) => ctx.env` }
      })
      const put = yield* call("POST", "/api/admin/apps/shop/secrets", {
        body: { name: "STRIPE_KEY", value: "sk_live_123" }
      })
      assert.strictEqual(put.status, 201, put.text)
      assert.deepStrictEqual(Object.keys(put.json).sort(), ["created_at", "name", "updated_at"])
      const list = yield* call("GET", "/api/admin/apps/shop/secrets")
      assert.deepStrictEqual(list.json.items.map((s: { name: string }) => s.name), ["STRIPE_KEY"])
      assert.notInclude(list.text, "sk_live_123")
      assert.deepStrictEqual((yield* call("GET", "/api/execute/shop/env")).json, { STRIPE_KEY: "sk_live_123" })

      yield* call("POST", "/api/admin/apps/shop/secrets", { body: { name: "STRIPE_KEY", value: "sk_live_456" } })
      assert.deepStrictEqual(
        (yield* call("GET", "/api/execute/shop/env")).json,
        { STRIPE_KEY: "sk_live_456" },
        "a change reaches scripts at once"
      )
      assert.strictEqual((yield* call("DELETE", "/api/admin/apps/shop/secrets/STRIPE_KEY")).status, 204)
      assert.deepStrictEqual((yield* call("GET", "/api/execute/shop/env")).json, {})
      assert.strictEqual((yield* call("DELETE", "/api/admin/apps/shop/secrets/STRIPE_KEY")).status, 404)
    }))

  it.live("bad names and values are 400; an unknown app is 404; apps do not see each other's secrets", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      for (
        const body of [{ name: "1BAD", value: "x" }, { name: "has-dash", value: "x" }, { name: "OK" }, {
          name: "BIG",
          value: "x".repeat(65537)
        }]
      ) {
        assert.strictEqual(
          (yield* call("POST", "/api/admin/apps/default/secrets", { body })).status,
          400,
          JSON.stringify(body).slice(0, 40)
        )
      }
      assert.strictEqual(
        (yield* call("POST", "/api/admin/apps/nope/secrets", { body: { name: "A", value: "b" } })).status,
        404
      )
      yield* call("POST", "/api/admin/apps", { body: { name: "other" } })
      yield* call("POST", "/api/admin/apps/default/secrets", { body: { name: "ONLY_DEFAULT", value: "d" } })
      yield* call("POST", "/api/admin/scripts", {
        body: { app: "other", name: "env", source: `export default (req, ctx) => ctx.env` }
      })
      assert.deepStrictEqual((yield* call("GET", "/api/execute/other/env")).json, {})
    }))
})
