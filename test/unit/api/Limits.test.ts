import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "./client.ts"

const MiB = 1024 * 1024

describe("admin API: limits", () => {
  it.live("a script source at the script limit is stored", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const source = `export default () => 1\n//${"x".repeat(MiB - 25)}`
      assert.strictEqual(Buffer.byteLength(source), MiB)
      const created = yield* call("POST", "/api/admin/scripts", { body: { name: "big", source } })
      assert.strictEqual(created.status, 201, created.text.slice(0, 300))
      const got = yield* call("GET", `/api/admin/scripts/${created.json.id}`)
      assert.strictEqual(got.json.source, source)
    }))

  it.live("a script source over PICLOUD_MAX_SCRIPT_BYTES (bytes, not characters) is a 413 on create and on update", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      // 524,289 two-byte characters: under a mebi-character, over a mebibyte.
      const tooBig = `//${"é".repeat(MiB / 2 + 1)}`
      const refused = yield* call("POST", "/api/admin/scripts", { body: { name: "big", source: tooBig } })
      assert.strictEqual(refused.status, 413, refused.text.slice(0, 300))
      assert.strictEqual(refused.json.error.code, "payload_too_large")
      assert.include(refused.json.error.message, String(MiB))
      assert.deepStrictEqual((yield* call("GET", "/api/admin/scripts")).json.items, [])

      const small = yield* call("POST", "/api/admin/scripts", { body: { name: "small", source: "export default () => 1" } })
      const update = yield* call("PUT", `/api/admin/scripts/${small.json.id}`, { body: { source: tooBig } })
      assert.strictEqual(update.status, 413)
      assert.strictEqual(update.json.error.code, "payload_too_large")
      assert.strictEqual((yield* call("GET", `/api/admin/scripts/${small.json.id}`)).json.version, 1)
    }))
})
