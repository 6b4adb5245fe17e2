import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { PersistenceError } from "../../../src/domain/Errors.ts"
import { ScriptRepo } from "../../../src/domain/ScriptRepo.ts"
import * as Memory from "../../../src/runtime/Memory.ts"
import * as StorageMemory from "../../../src/runtime/StorageMemory.ts"
import { ADMIN_TOKEN, makeClient, memoryPlatform } from "../../support/client.ts"

const deploy = (call: Effect.Success<typeof memoryPlatform>, name: string, source: string, timeout_seconds?: number) =>
  call("POST", "/api/admin/scripts", { body: { name, source, ...(timeout_seconds ? { timeout_seconds } : {}) } }).pipe(
    Effect.tap((res) => Effect.sync(() => assert.strictEqual(res.status, 201, res.text))),
    Effect.map((res) => res.json.id as string)
  )

describe("data plane: /api/execute", () => {
  it.live("passes method, path, query, headers and body; answers with the script's response", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* deploy(
        call,
        "echo",
        `export default async function (req, ctx) {
        const data = req.json()
        console.log("got", data.n)
        return { statusCode: 201, headers: { "x-echo": req.headers["x-in"] }, body: { method: req.method, path: req.path, q: req.query.a, n: data.n, invocation: ctx.invocation, script: ctx.script.name } }
      }`
      )
      const res = yield* call("POST", "/api/execute/echo?a=1", { body: { n: 7 }, headers: { "x-in": "yes" } })
      assert.strictEqual(res.status, 201)
      assert.strictEqual(res.headers.get("x-echo"), "yes")
      assert.deepStrictEqual(res.json, {
        method: "POST",
        path: "/api/execute/echo",
        q: "1",
        n: 7,
        invocation: "http",
        script: "echo"
      })
      const executionId = res.headers.get("x-picloud-execution-id")
      assert.isString(executionId)

      const record = yield* call("GET", `/api/admin/executions/${executionId}`)
      assert.strictEqual(record.status, 200)
      assert.strictEqual(record.json.status, "succeeded")
      assert.strictEqual(record.json.status_code, 201)
      assert.strictEqual(record.json.script_name, "echo")
      assert.strictEqual(record.json.script_version, 1)
      assert.deepStrictEqual(record.json.logs.map((l: { message: string }) => l.message), ["got 7"])
      assert.isNull(record.json.error)
    }))

  it.live("each failure has its status, a JSON error body with the execution id, and a record", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const cases = [
        {
          name: "throws",
          source: `export default () => { console.error("about to fail"); throw new TypeError("boom") }`,
          status: 502,
          code: "script_error"
        },
        {
          name: "rejects",
          source: `export default async () => { throw new Error("async boom") }`,
          status: 502,
          code: "script_error"
        },
        {
          name: "invalid",
          source: `export default () => ({ statusCode: 9999 })`,
          status: 502,
          code: "invalid_response"
        },
        { name: "loops", source: `export default () => { for (;;) {} }`, status: 504, code: "timeout", timeout: 1 },
        {
          name: "recurses",
          source: `export default function f() { return f() + 1 }`,
          status: 507,
          code: "stack_limit"
        },
        { name: "nodefault", source: `export const x = 1`, status: 422, code: "script_invalid" }
      ]
      for (const c of cases) {
        const created = yield* call("POST", "/api/admin/scripts", {
          body: { name: c.name, source: c.source, ...(c.timeout ? { timeout_seconds: c.timeout } : {}) }
        })
        if (created.status === 422) {
          // Refused at upload already: the validator caught it, which is just as good.
          assert.strictEqual(c.status, 422)
          continue
        }
        const started = Date.now()
        const res = yield* call("GET", `/api/execute/${c.name}`)
        assert.strictEqual(res.status, c.status, `${c.name}: ${res.text}`)
        assert.strictEqual(res.json.error.code, c.code, c.name)
        assert.isString(res.json.error.message)
        const record = yield* call("GET", `/api/admin/executions/${res.json.error.execution_id}`)
        assert.strictEqual(record.json.status, "failed", c.name)
        assert.strictEqual(record.json.status_code, c.status)
        assert.strictEqual(record.json.error.code, c.code)
        if (c.name === "loops") assert.isBelow(Date.now() - started, 3000)
        if (c.name === "throws") {
          assert.include(res.json.error.message, "boom")
          assert.deepStrictEqual(record.json.logs.map((l: { level: string }) => l.level), ["error"])
        }
      }
    }))

  it.live("a body over the limit is 413; unknown scripts and routes are 404", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* deploy(call, "sink", `export default (req) => req.body.length`)
      const big = "x".repeat(1024 * 1024 + 1)
      const res = yield* call("POST", "/api/execute/sink", { body: big, headers: { "content-type": "text/plain" } })
      assert.strictEqual(res.status, 413)
      assert.strictEqual(res.json.error.code, "payload_too_large")
      assert.strictEqual(res.headers.get("connection"), "close", "the rest of the body is not read")
      const fits = yield* call("POST", "/api/execute/sink", {
        body: "x".repeat(1000),
        headers: { "content-type": "text/plain" }
      })
      assert.strictEqual(fits.text, "1000")

      const missing = yield* call("GET", "/api/execute/nope")
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.json.error.code, "script_not_found")
      const noRoute = yield* call("GET", "/no/such/route", { token: null })
      assert.strictEqual(noRoute.status, 404)
      assert.strictEqual(noRoute.json.error.code, "not_found")
    }))

  it.live("a storage fault is a 500 with the JSON error body, never a script's fault", () =>
    Effect.gen(function*() {
      const failing = Layer.succeed(
        ScriptRepo,
        ScriptRepo.of({
          create: () => Effect.fail(new PersistenceError({ operation: "ScriptRepo.create", cause: "db down" })),
          list: () => Effect.fail(new PersistenceError({ operation: "ScriptRepo.list", cause: "db down" })),
          get: () => Effect.fail(new PersistenceError({ operation: "ScriptRepo.get", cause: "db down" })),
          find: () => Effect.fail(new PersistenceError({ operation: "ScriptRepo.find", cause: "db down" })),
          findByRef: () => Effect.fail(new PersistenceError({ operation: "ScriptRepo.findByRef", cause: "db down" })),
          update: () => Effect.fail(new PersistenceError({ operation: "ScriptRepo.update", cause: "db down" })),
          delete: () => Effect.fail(new PersistenceError({ operation: "ScriptRepo.delete", cause: "db down" }))
        })
      )
      const { handler, dispose } = HttpRouter.toWebHandler(
        Memory.layer(ADMIN_TOKEN, {}, Layer.merge(StorageMemory.layer, failing)),
        { disableLogger: true }
      )
      yield* Effect.addFinalizer(() => Effect.promise(dispose))
      const call = makeClient(handler)
      const exec = yield* call("GET", "/api/execute/any")
      assert.strictEqual(exec.status, 500)
      assert.strictEqual(exec.json.error.code, "internal")
      const list = yield* call("GET", "/api/admin/scripts")
      assert.strictEqual(list.status, 500)
      assert.strictEqual(list.json.error.code, "internal")
    }))

  it.live("executions are listed newest first, per script, a page at a time", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const a = yield* deploy(call, "a", `export default () => "a"`)
      yield* deploy(call, "b", `export default () => "b"`)
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) {
        ids.push((yield* call("GET", "/api/execute/a")).headers.get("x-picloud-execution-id")!)
        yield* call("GET", "/api/execute/b")
      }
      const page1 = yield* call("GET", `/api/admin/executions?script=${a}&limit=3`)
      assert.strictEqual(page1.status, 200)
      assert.deepStrictEqual(page1.json.items.map((e: { id: string }) => e.id), ids.slice(2).reverse())
      const page2 = yield* call("GET", `/api/admin/executions?script=${a}&limit=3&cursor=${page1.json.next_cursor}`)
      assert.deepStrictEqual(page2.json.items.map((e: { id: string }) => e.id), ids.slice(0, 2).reverse())
      assert.isNull(page2.json.next_cursor)
      const all = yield* call("GET", "/api/admin/executions?limit=200")
      assert.strictEqual(all.json.items.length, 10)
      assert.strictEqual((yield* call("GET", "/api/admin/executions?limit=0")).status, 400)
      assert.strictEqual((yield* call("GET", "/api/admin/executions/6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11")).status, 404)
    }))

  it.live("/health answers without a token", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const res = yield* call("GET", "/health", { token: null })
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.json.status, "ok")
    }))
})
