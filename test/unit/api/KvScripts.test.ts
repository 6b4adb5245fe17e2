import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { PersistenceError } from "../../../src/domain/Errors.ts"
import { KvStore } from "../../../src/domain/KvStore.ts"
import * as KvStoreMemory from "../../../src/manager/KvStoreMemory.ts"
import * as Memory from "../../../src/runtime/Memory.ts"
import { makeMemoryHandler } from "../../../src/runtime/Memory.ts"
import * as StorageMemory from "../../../src/runtime/StorageMemory.ts"
import { ADMIN_TOKEN, makeClient } from "../../support/client.ts"

/** A memory platform with small KV caps, so the limit tests send little. */
const platform = Effect.acquireRelease(
  Effect.sync(() =>
    makeMemoryHandler(ADMIN_TOKEN, {
      PICLOUD_KV_MAX_VALUE_BYTES: "1000",
      PICLOUD_KV_MAX_OPS: "20",
      PICLOUD_KV_MAX_PENDING_BYTES: "3000"
    })
  ),
  ({ dispose }) => Effect.promise(dispose)
).pipe(Effect.map(({ handler }) => makeClient(handler)))

type Call = Effect.Success<typeof platform>

const deploy = (call: Call, name: string, source: string) =>
  call("POST", "/api/admin/scripts", { body: { name, source } }).pipe(
    Effect.tap((res) => Effect.sync(() => assert.strictEqual(res.status, 201, res.text)))
  )

const KV = "/api/admin/apps/default/kv"
const put = (call: Call, key: string, value: unknown) =>
  call("PUT", `${KV}/${encodeURIComponent(key)}`, { body: JSON.stringify(value) }).pipe(
    Effect.tap((res) => Effect.sync(() => assert.strictEqual(res.status, 200, res.text)))
  )
const stored = (call: Call, key: string) =>
  call("GET", `${KV}/${encodeURIComponent(key)}`).pipe(Effect.map((res) => (res.status === 404 ? undefined : res.json)))

describe("scripts' kv: reads, writes, atomic commit", () => {
  it.live("writes are kept when the execution ends well, and its reads see its own pending writes", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* put(call, "orders/keep", { n: 0 })
      yield* put(call, "orders/gone", 1)
      yield* deploy(
        call,
        "writer",
        `export default async () => {
          const before = await kv.get("orders/new")
          await kv.set("orders/new", { n: 1 })
          await kv.set("orders/new", { n: 2 })
          await kv.delete("orders/gone")
          const entry = await kv.getEntry("orders/new")
          const keep = await kv.getEntry("orders/keep")
          const page = await kv.list({ prefix: "orders/" })
          return { before, now: await kv.get("orders/new"), gone: await kv.get("orders/gone"), entry, keep, page }
        }`
      )
      const res = yield* call("POST", "/api/execute/writer")
      assert.strictEqual(res.status, 200, res.text)
      assert.deepStrictEqual(res.json, {
        before: null,
        now: { n: 2 },
        gone: null,
        entry: { value: { n: 2 }, version: 2 },
        keep: { value: { n: 0 }, version: 1 },
        page: {
          items: [{ key: "orders/keep", value: { n: 0 }, version: 1 }, {
            key: "orders/new",
            value: { n: 2 },
            version: 2
          }],
          cursor: null
        }
      })
      assert.deepInclude(yield* stored(call, "orders/new"), { value: { n: 2 }, version: 2 })
      assert.isUndefined(yield* stored(call, "orders/gone"))
    }))

  it.live("a script that writes then throws (or times out) leaves nothing", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* deploy(
        call,
        "thrower",
        `export default async () => { await kv.set("t", 1); throw new Error("after the write") }`
      )
      yield* call("POST", "/api/admin/scripts", {
        body: {
          name: "sleeper",
          timeout_seconds: 1,
          source: `export default async () => { await kv.set("s", 1); for (;;) {} }`
        }
      })
      const threw = yield* call("POST", "/api/execute/thrower")
      assert.strictEqual(threw.status, 502, threw.text)
      const slept = yield* call("POST", "/api/execute/sleeper")
      assert.strictEqual(slept.status, 504, slept.text)
      assert.isUndefined(yield* stored(call, "t"))
      assert.isUndefined(yield* stored(call, "s"))
    }))

  it.live("an ifVersion that does not hold at commit is 409 kv_conflict, and none of the writes is kept", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* put(call, "c", 5)
      yield* deploy(
        call,
        "cas",
        `export default async (req) => {
          await kv.set("side", "effect")
          await kv.set("c", 6, { ifVersion: Number(req.query.v) })
          return "ok"
        }`
      )
      const stale = yield* call("POST", "/api/execute/cas?v=7")
      assert.strictEqual(stale.status, 409, stale.text)
      assert.strictEqual(stale.json.error.code, "kv_conflict")
      assert.match(stale.json.error.message, /"c" was at version 1, not 7/)
      assert.isUndefined(yield* stored(call, "side"))
      const record = yield* call("GET", `/api/admin/executions/${stale.json.error.execution_id}`)
      assert.deepInclude(record.json, { status: "failed", status_code: 409 })
      assert.strictEqual(record.json.error.code, "kv_conflict")

      const fresh = yield* call("POST", "/api/execute/cas?v=1")
      assert.strictEqual(fresh.status, 200, fresh.text)
      assert.deepInclude(yield* stored(call, "c"), { value: 6, version: 2 })
      // ifVersion 0: the key must not exist.
      assert.strictEqual((yield* call("POST", "/api/execute/cas?v=0")).status, 409)
    }))

  it.live("concurrent increments with ifVersion, retried on 409, lose no update", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* deploy(
        call,
        "incr",
        `export default async () => {
          const entry = await kv.getEntry("counter")
          await kv.set("counter", (entry?.value ?? 0) + 1, { ifVersion: entry?.version ?? 0 })
          return "ok"
        }`
      )
      const once = Effect.gen(function*() {
        for (let attempt = 0; attempt < 200; attempt++) {
          const res = yield* call("POST", "/api/execute/incr")
          if (res.status === 200) return
          assert.strictEqual(res.status, 409, res.text)
        }
        assert.fail("no attempt got through")
      })
      yield* Effect.all(Array.from({ length: 20 }, () => once), { concurrency: "unbounded" })
      assert.deepInclude(yield* stored(call, "counter"), { value: 20, version: 20 })
    }))

  it.live("bad keys and values throw named errors the script can catch; nothing bad is kept", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* deploy(
        call,
        "bad",
        `export default async () => {
          const names = []
          const attempt = async (f) => { try { await f(); names.push("none") } catch (e) { names.push(e.name + ": " + e.message) } }
          await attempt(() => kv.set("", 1))
          await attempt(() => kv.set("x".repeat(513), 1))
          await attempt(() => kv.get("a\\u0000b"))
          await attempt(() => kv.set("big", "x".repeat(2000)))
          await attempt(() => kv.set("huge", "x".repeat(100000)))
          await attempt(() => kv.set("nul", { s: "a\\u0000" }))
          await attempt(() => kv.set(42, 1))
          await attempt(() => kv.set("v", 1, { ifVersion: -1 }))
          await attempt(() => kv.list({ cursor: "not-a-cursor" }))
          await attempt(() => kv.list({ limit: 0 }))
          await attempt(() => kv.set("ok", 1))
          return names
        }`
      )
      const res = yield* call("POST", "/api/execute/bad")
      assert.strictEqual(res.status, 200, res.text)
      const names: Array<string> = res.json
      assert.deepStrictEqual(names.map((n) => n.split(":")[0]), [
        "KvKeyInvalid",
        "KvKeyInvalid",
        "KvKeyInvalid",
        "KvValueTooLarge",
        "KvValueTooLarge",
        "KvValueInvalid",
        "TypeError",
        "TypeError",
        "KvCursorInvalid",
        "TypeError",
        "none"
      ])
      assert.match(names[3]!, /2002 bytes as JSON, over the 1000 limit/)
      assert.match(names[4]!, /the arguments are over 1000 bytes/)
      const keys = (yield* call("GET", KV)).json.items.map((item: { key: string }) => item.key)
      assert.deepStrictEqual(keys, ["ok"])
    }))

  it.live("per-execution caps: calls (PICLOUD_KV_MAX_OPS) and pending bytes (PICLOUD_KV_MAX_PENDING_BYTES)", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* deploy(
        call,
        "many",
        `export default async (req) => {
          let done = 0
          try {
            for (let i = 0; i < 100; i++) {
              if (req.query.what === "ops") await kv.get("k" + i)
              else await kv.set("k" + i, "x".repeat(500))
              done++
            }
          } catch (e) { return { done, error: e.name, message: e.message } }
          return { done }
        }`
      )
      const ops = yield* call("POST", "/api/execute/many?what=ops")
      assert.deepInclude(ops.json, { done: 20, error: "KvLimitExceeded" })
      assert.match(ops.json.message, /PICLOUD_KV_MAX_OPS/)
      const bytes = yield* call("POST", "/api/execute/many?what=bytes")
      // Each write holds 2-3 bytes of key and 502 of value: the sixth would pass 3000.
      assert.deepInclude(bytes.json, { done: 5, error: "KvLimitExceeded" })
      assert.match(bytes.json.message, /PICLOUD_KV_MAX_PENDING_BYTES/)
      // The script caught the error and ended well: what it wrote within the cap is kept.
      assert.strictEqual((yield* call("GET", KV)).json.items.length, 5)
    }))

  it.live("kv.list pages with a cursor, its pending writes on top of each page", () =>
    Effect.gen(function*() {
      const call = yield* platform
      for (const key of ["p/a", "p/c", "p/e", "p/g"]) {
        yield* put(call, key, { key })
      }
      yield* deploy(
        call,
        "pager",
        `export default async () => {
          await kv.set("p/b", "new")
          await kv.delete("p/e")
          await kv.set("p/z", "last")
          const keys = []
          let cursor
          do {
            const page = await kv.list({ prefix: "p/", limit: 2, cursor })
            keys.push(page.items.map((i) => i.key))
            cursor = page.cursor ?? undefined
          } while (cursor)
          return keys
        }`
      )
      const res = yield* call("POST", "/api/execute/pager")
      assert.strictEqual(res.status, 200, res.text)
      assert.deepStrictEqual(res.json.flat(), ["p/a", "p/b", "p/c", "p/g", "p/z"])
      for (const page of res.json) assert.isAtMost(page.length, 2)
    }))

  it.live("an async execution's writes commit with its completion; a conflict is a failed attempt, retried, then dead-lettered", () =>
    Effect.gen(function*() {
      const call = yield* platform
      yield* deploy(call, "bump", `export default async () => { await kv.set("a", 1); return "ok" }`)
      yield* deploy(call, "stale", `export default async () => { await kv.set("b", 1, { ifVersion: 9 }); return "ok" }`)
      for (const [path, script] of [["/bump", "bump"], ["/stale", "stale"]]) {
        const route = yield* call("POST", "/api/admin/routes", {
          body: {
            method: "POST",
            path,
            script,
            dispatch_mode: "async",
            retry: { max_attempts: 2, backoff: "constant", initial_delay_ms: 10, jitter: false }
          }
        })
        assert.strictEqual(route.status, 201, route.text)
      }
      const ok = yield* call("POST", "/default/bump")
      const done = yield* call("GET", `/api/executions/${ok.json.execution_id}?wait=10`, { token: null })
      assert.strictEqual(done.json.status, "succeeded", done.text)
      assert.deepInclude(yield* stored(call, "a"), { value: 1, version: 1 })

      const conflicted = yield* call("POST", "/default/stale")
      const dead = yield* call("GET", `/api/executions/${conflicted.json.execution_id}?wait=10`, { token: null })
      assert.strictEqual(dead.json.status, "dead_lettered", dead.text)
      assert.strictEqual(dead.json.attempts, 2)
      assert.isUndefined(yield* stored(call, "b"))
      const letter = yield* call("GET", `/api/admin/dead-letters/${conflicted.json.execution_id}`)
      assert.strictEqual(letter.json.error.code, "kv_conflict", letter.text)
    }))

  it.live("a commit the database refuses is a 500 internal, recorded as such, with nothing kept", () =>
    Effect.gen(function*() {
      // The memory store, but its commits fail as an unreachable database would.
      const failingCommits = Layer.effect(
        KvStore,
        Effect.gen(function*() {
          const store = yield* KvStore
          return KvStore.of({
            ...store,
            commit: () => Effect.fail(new PersistenceError({ operation: "KvStore.commit", cause: "db down" }))
          })
        })
      ).pipe(Layer.provide(KvStoreMemory.layer))
      const { dispose, handler } = HttpRouter.toWebHandler(
        Memory.layer(ADMIN_TOKEN, {}, Layer.merge(StorageMemory.layer, failingCommits)),
        { disableLogger: true }
      )
      yield* Effect.addFinalizer(() => Effect.promise(dispose))
      const call = makeClient(handler)
      yield* deploy(call, "w", `export default async () => { await kv.set("k", 1); return "ok" }`)
      const res = yield* call("POST", "/api/execute/w")
      assert.strictEqual(res.status, 500, res.text)
      assert.strictEqual(res.json.error.code, "internal")
      const records = (yield* call("GET", "/api/admin/executions")).json.items
      assert.deepInclude(records[0], { status: "failed", status_code: 500, kv_writes: 1 })
      assert.strictEqual(records[0].error.code, "internal")
    }))
})
