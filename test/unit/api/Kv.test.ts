import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeMemoryHandler } from "../../../src/runtime/Memory.ts"
import { ADMIN_TOKEN, makeClient } from "../../support/client.ts"

const MAX_VALUE_BYTES = 1000
const MAX_ADMIN_BODY_BYTES = 4000

/** A memory platform with small limits, so the size tests send little. */
const platform = Effect.acquireRelease(
  Effect.sync(() =>
    makeMemoryHandler(ADMIN_TOKEN, {
      PICLOUD_KV_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES),
      PICLOUD_MAX_ADMIN_BODY_BYTES: String(MAX_ADMIN_BODY_BYTES)
    })
  ),
  ({ dispose }) => Effect.promise(dispose)
).pipe(Effect.map(({ handler }) => makeClient(handler)))

const KV = "/api/admin/apps/default/kv"

describe("admin API: key-value store", () => {
  it.live("PUT creates and replaces (the version counts writes), GET reads with an ETag, DELETE removes", () =>
    Effect.gen(function*() {
      const call = yield* platform
      const created = yield* call("PUT", `${KV}/greeting`, { body: { text: "hello" } })
      assert.strictEqual(created.status, 200, created.text)
      assert.deepStrictEqual(Object.keys(created.json).sort(), ["key", "updated_at", "version"])
      assert.deepInclude(created.json, { key: "greeting", version: 1 })
      assert.strictEqual(created.headers.get("etag"), "\"1\"")
      const replaced = yield* call("PUT", `${KV}/greeting`, { body: { text: "hi" } })
      assert.deepInclude(replaced.json, { key: "greeting", version: 2 })
      const read = yield* call("GET", `${KV}/greeting`)
      assert.strictEqual(read.status, 200, read.text)
      assert.deepStrictEqual(read.json, {
        key: "greeting",
        value: { text: "hi" },
        version: 2,
        updated_at: replaced.json.updated_at
      })
      assert.strictEqual(read.headers.get("etag"), "\"2\"")
      assert.strictEqual((yield* call("DELETE", `${KV}/greeting`)).status, 204)
      const gone = yield* call("GET", `${KV}/greeting`)
      assert.strictEqual(gone.status, 404)
      assert.strictEqual(gone.json.error.code, "kv_key_not_found")
      const again = yield* call("DELETE", `${KV}/greeting`)
      assert.strictEqual(again.status, 404)
      assert.strictEqual(again.json.error.code, "kv_key_not_found")
    }))

  it.live("the body is any JSON value: object, array, string, number, boolean, null", () =>
    Effect.gen(function*() {
      const call = yield* platform
      for (
        const [i, text] of ["{\"a\":[1,{\"b\":null}]}", "[]", "\"just text\"", "42", "-0.5", "true", "null"].entries()
      ) {
        const put = yield* call("PUT", `${KV}/v${i}`, { body: text })
        assert.strictEqual(put.status, 200, `${text}: ${put.text}`)
        assert.deepStrictEqual((yield* call("GET", `${KV}/v${i}`)).json.value, JSON.parse(text), text)
      }
      for (const text of ["", "{not json", "'single'", "[1,]"]) {
        const bad = yield* call("PUT", `${KV}/bad`, { body: text })
        assert.strictEqual(bad.status, 400, `${JSON.stringify(text)}: ${bad.text}`)
        assert.strictEqual(bad.json.error.code, "bad_request")
      }
      const plain = yield* call("PUT", `${KV}/bad`, { body: "42", headers: { "content-type": "text/plain" } })
      assert.strictEqual(plain.status, 415, plain.text)
      assert.isString(plain.json.error.code)
      assert.strictEqual((yield* call("GET", `${KV}/bad`)).status, 404, "nothing refused was stored")
    }))

  it.live("If-Match makes a write compare-and-set: 0 creates only; a mismatch is 412 version_mismatch", () =>
    Effect.gen(function*() {
      const call = yield* platform
      const ifMatch = (version: string) => ({ "if-match": version })
      const created = yield* call("PUT", `${KV}/lock`, { body: 1, headers: ifMatch("0") })
      assert.strictEqual(created.status, 200, created.text)
      const taken = yield* call("PUT", `${KV}/lock`, { body: 2, headers: ifMatch("0") })
      assert.strictEqual(taken.status, 412, taken.text)
      assert.strictEqual(taken.json.error.code, "version_mismatch")
      assert.include(taken.json.error.message, "version 1")
      const stale = yield* call("PUT", `${KV}/lock`, { body: 2, headers: ifMatch("5") })
      assert.strictEqual(stale.status, 412)
      // The ETag, sent back as it came (quoted), is a valid If-Match.
      const cas = yield* call("PUT", `${KV}/lock`, { body: 2, headers: ifMatch(created.headers.get("etag")!) })
      assert.strictEqual(cas.status, 200, cas.text)
      assert.strictEqual(cas.json.version, 2)
      const staleDelete = yield* call("DELETE", `${KV}/lock`, { headers: ifMatch("1") })
      assert.strictEqual(staleDelete.status, 412)
      assert.strictEqual((yield* call("GET", `${KV}/lock`)).json.value, 2, "a refused delete leaves the key")
      assert.strictEqual((yield* call("DELETE", `${KV}/lock`, { headers: ifMatch("2") })).status, 204)
      assert.strictEqual((yield* call("DELETE", `${KV}/lock`, { headers: ifMatch("2") })).status, 412)
      const absent = yield* call("DELETE", `${KV}/lock`, { headers: ifMatch("0") })
      assert.strictEqual(absent.status, 404, "If-Match: 0 holds for an absent key, which is still not found")
      assert.strictEqual(absent.json.error.code, "kv_key_not_found")
      for (const bad of ["abc", "*", "-1", "W/\"1\""]) {
        const refused = yield* call("PUT", `${KV}/lock`, { body: 3, headers: ifMatch(bad) })
        assert.strictEqual(refused.status, 400, `${bad}: ${refused.text}`)
        assert.include(refused.json.error.message, "If-Match")
      }
    }))

  it.live("keys are URL-encoded in the path (a '/' as %2F); a key over 512 bytes or holding NUL is 400", () =>
    Effect.gen(function*() {
      const call = yield* platform
      for (const key of ["orders/42", "a b", "é/😀", "100%", "?#&="]) {
        const path = `${KV}/${encodeURIComponent(key)}`
        const put = yield* call("PUT", path, { body: { key } })
        assert.strictEqual(put.status, 200, `${key}: ${put.text}`)
        const read = yield* call("GET", path)
        assert.deepInclude(read.json, { key, value: { key } }, key)
      }
      const longest = "é".repeat(256)
      assert.strictEqual((yield* call("PUT", `${KV}/${encodeURIComponent(longest)}`, { body: 1 })).status, 200)
      for (const key of [`${longest}x`, "a\u0000b"]) {
        const refused = yield* call("PUT", `${KV}/${encodeURIComponent(key)}`, { body: 1 })
        assert.strictEqual(refused.status, 400, refused.text)
      }
    }))

  it.live("a value over PICLOUD_KV_MAX_VALUE_BYTES is 413 kv_value_too_large; a body over the admin cap 413 too", () =>
    Effect.gen(function*() {
      const call = yield* platform
      // A string of n bytes is n + 2 bytes of JSON.
      const atLimit = "x".repeat(MAX_VALUE_BYTES - 2)
      assert.strictEqual((yield* call("PUT", `${KV}/big`, { body: JSON.stringify(atLimit) })).status, 200)
      const over = yield* call("PUT", `${KV}/big`, { body: JSON.stringify(`${atLimit}x`) })
      assert.strictEqual(over.status, 413, over.text)
      assert.strictEqual(over.json.error.code, "kv_value_too_large")
      // Whitespace in the body does not count: the value is measured as compact JSON.
      const padded = yield* call("PUT", `${KV}/big`, { body: `  ${JSON.stringify(atLimit)}${" ".repeat(100)}` })
      assert.strictEqual(padded.status, 200, padded.text)
      const overCap = yield* call("PUT", `${KV}/big`, { body: JSON.stringify("x".repeat(MAX_ADMIN_BODY_BYTES)) })
      assert.strictEqual(overCap.status, 413)
      assert.strictEqual(overCap.json.error.code, "payload_too_large")
      assert.strictEqual((yield* call("GET", `${KV}/big`)).json.version, 2)
    }))

  it.live("text PostgreSQL cannot store is refused with where it is; so is nesting too deep", () =>
    Effect.gen(function*() {
      const call = yield* platform
      for (
        const [body, at] of [
          ["{\"note\":\"a\\u0000b\"}", "$.note"],
          ["{\"tags\":[\"ok\",\"\\ud800\"]}", "$.tags[1]"],
          ["{\"a\\u0000\":1}", "$"],
          ["[".repeat(65) + "]".repeat(65), "$"]
        ] as const
      ) {
        const refused = yield* call("PUT", `${KV}/bad`, { body })
        assert.strictEqual(refused.status, 400, refused.text)
        assert.strictEqual(refused.json.error.code, "kv_value_invalid")
        assert.include(refused.json.error.message, `at ${at}`)
      }
    }))

  it.live("list: by prefix, a page at a time (limit 1-100, default 50), with a cursor; bad ones are 400", () =>
    Effect.gen(function*() {
      const call = yield* platform
      for (const key of ["orders/3", "orders/1", "orders/2", "users/1", "orders"]) {
        yield* call("PUT", `${KV}/${encodeURIComponent(key)}`, { body: { key } })
      }
      const first = yield* call("GET", `${KV}?prefix=orders%2F&limit=2`)
      assert.strictEqual(first.status, 200, first.text)
      assert.deepStrictEqual(first.json.items.map((i: { key: string }) => i.key), ["orders/1", "orders/2"])
      assert.deepInclude(first.json.items[0], { value: { key: "orders/1" }, version: 1 })
      const second = yield* call("GET", `${KV}?prefix=orders%2F&limit=2&cursor=${first.json.cursor}`)
      assert.deepStrictEqual(second.json.items.map((i: { key: string }) => i.key), ["orders/3"])
      assert.isNull(second.json.cursor)
      assert.strictEqual((yield* call("GET", KV)).json.items.length, 5)
      for (const query of ["limit=0", "limit=101", "limit=x", "cursor=bogus!"]) {
        const bad = yield* call("GET", `${KV}?${query}`)
        assert.strictEqual(bad.status, 400, `${query}: ${bad.text}`)
      }
      assert.strictEqual((yield* call("GET", "/api/admin/apps/nope/kv")).status, 404)
    }))

  it.live("each app has its own keys", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
      yield* call("PUT", "/api/admin/apps/shop/kv/k", { body: JSON.stringify("shop's") })
      yield* call("PUT", `${KV}/k`, { body: JSON.stringify("default's") })
      assert.strictEqual((yield* call("GET", "/api/admin/apps/shop/kv/k")).json.value, "shop's")
      assert.strictEqual((yield* call("GET", `${KV}/k`)).json.value, "default's")
      assert.deepStrictEqual(
        (yield* call("GET", "/api/admin/apps/shop/kv")).json.items.map((i: { key: string }) => i.key),
        [
          "k"
        ]
      )
    }))

  it.live("the OpenAPI document describes the KV endpoints, If-Match, ETag and 412", () =>
    Effect.gen(function*() {
      const call = yield* platform
      const paths = (yield* call("GET", "/api/admin/openapi.json")).json.paths
      const one = paths["/api/admin/apps/{app}/kv/{key}"]
      assert.isDefined(paths["/api/admin/apps/{app}/kv"]?.get)
      assert.includeMembers(Object.keys(one), ["get", "put", "delete"])
      for (const method of ["put", "delete"]) {
        assert.include(one[method].parameters.map((p: { name: string }) => p.name), "if-match", method)
        assert.property(one[method].responses, "412", method)
      }
      assert.property(one.get.responses["200"].headers, "etag")
      assert.property(one.put.responses["200"].headers, "etag")
    }))
})
