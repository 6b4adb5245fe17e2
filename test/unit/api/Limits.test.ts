import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeMemoryHandler } from "../../../src/runtime/Memory.ts"
import { ADMIN_TOKEN, memoryPlatform } from "../../support/client.ts"

const MiB = 1024 * 1024
/** The default admin body limit: twice the default script limit, plus 64 KiB for the rest of the JSON. */
const MAX_ADMIN_BODY_BYTES = 2 * MiB + 64 * 1024

/** A body of `total` bytes that counts how much of it the server pulled. */
const countedBody = (total: number) => {
  const read = { bytes: 0 }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (read.bytes >= total) return controller.close()
      const chunk = new Uint8Array(Math.min(64 * 1024, total - read.bytes)).fill(0x20)
      read.bytes += chunk.byteLength
      controller.enqueue(chunk)
    }
  })
  return { stream, read }
}

const send = (
  path: string,
  init: { readonly body: ReadableStream<Uint8Array>; readonly headers: Record<string, string> }
) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeMemoryHandler(ADMIN_TOKEN)),
    ({ handler }) =>
      Effect.promise(async () => {
        const request = new Request(`http://picloud.test${path}`, {
          method: "POST",
          body: init.body,
          headers: { "content-type": "application/json", ...init.headers },
          duplex: "half"
        } as RequestInit)
        const response = await handler(request)
        return { status: response.status, headers: response.headers, json: (await response.json()) as any }
      }),
    ({ dispose }) => Effect.promise(dispose)
  )

describe("admin API: limits", () => {
  it.live("a declared Content-Length over the admin body limit is a 413 before any of the body is read", () =>
    Effect.gen(function*() {
      for (
        const [path, token] of [["/api/admin/login", null], ["/api/admin/scripts", ADMIN_TOKEN], [
          "/api/admin/apps",
          "pc_not-a-token"
        ]] as const
      ) {
        const { stream, read } = countedBody(100 * MiB)
        const headers: Record<string, string> = { "content-length": String(100 * MiB) }
        if (token !== null) headers.authorization = `Bearer ${token}`
        const res = yield* send(path, { body: stream, headers })
        assert.strictEqual(res.status, 413, path)
        assert.strictEqual(res.json.error.code, "payload_too_large")
        assert.include(res.json.error.message, String(MAX_ADMIN_BODY_BYTES))
        assert.strictEqual(res.headers.get("connection"), "close", "the rest of the body is not drained")
        assert.isAtMost(read.bytes, 128 * 1024, `${path}: at most what the stream buffers ahead`)
      }
    }))

  it.live("a body without Content-Length is read up to the limit only, then refused with a 413", () =>
    Effect.gen(function*() {
      const { stream, read } = countedBody(100 * MiB)
      const res = yield* send("/api/admin/login", { body: stream, headers: {} })
      assert.strictEqual(res.status, 413)
      assert.strictEqual(res.json.error.code, "payload_too_large")
      assert.isAtMost(read.bytes, MAX_ADMIN_BODY_BYTES + 128 * 1024)
    }))

  it.live("a body within the limit still works: a script source at the script limit is stored", () =>
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

      const small = yield* call("POST", "/api/admin/scripts", {
        body: { name: "small", source: "export default () => 1" }
      })
      const update = yield* call("PUT", `/api/admin/scripts/${small.json.id}`, { body: { source: tooBig } })
      assert.strictEqual(update.status, 413)
      assert.strictEqual(update.json.error.code, "payload_too_large")
      assert.strictEqual((yield* call("GET", `/api/admin/scripts/${small.json.id}`)).json.version, 1)
    }))
})
