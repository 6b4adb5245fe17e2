import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "../../support/client.ts"

const hello = `export default function (request) { return { hello: request.query.name ?? "world" } }`

describe("admin API: scripts", () => {
  it.live("create → list → get → execute → update → execute the new version → delete → 404", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform

      const created = yield* call("POST", "/api/admin/scripts", { body: { name: "hello", source: hello } })
      assert.strictEqual(created.status, 201)
      assert.deepStrictEqual(Object.keys(created.json).sort(), [
        "app_id",
        "created_at",
        "id",
        "name",
        "timeout_seconds",
        "updated_at",
        "version"
      ])
      assert.strictEqual(created.json.name, "hello")
      assert.strictEqual(created.json.version, 1)
      assert.strictEqual(created.json.timeout_seconds, 30)
      const id: string = created.json.id

      const list = yield* call("GET", "/api/admin/scripts")
      assert.strictEqual(list.status, 200)
      assert.deepStrictEqual(list.json.items.map((s: { id: string }) => s.id), [id])

      const got = yield* call("GET", `/api/admin/scripts/${id}`)
      assert.strictEqual(got.status, 200)
      assert.strictEqual(got.json.source, hello)

      const run1 = yield* call("GET", "/api/execute/hello?name=pi")
      assert.strictEqual(run1.status, 200)
      assert.deepStrictEqual(run1.json, { hello: "pi" })
      const byId = yield* call("GET", `/api/execute/${id}`)
      assert.deepStrictEqual(byId.json, { hello: "world" })

      const updated = yield* call("PUT", `/api/admin/scripts/${id}`, {
        body: { source: `export default () => "v2"`, timeout_seconds: 5 }
      })
      assert.strictEqual(updated.status, 200)
      assert.strictEqual(updated.json.version, 2)
      assert.strictEqual(updated.json.name, "hello")
      assert.strictEqual(updated.json.timeout_seconds, 5)
      assert.strictEqual(updated.json.created_at, created.json.created_at)

      const run2 = yield* call("POST", "/api/execute/hello")
      assert.strictEqual(run2.status, 200)
      assert.strictEqual(run2.text, "v2")

      const deleted = yield* call("DELETE", `/api/admin/scripts/${id}`)
      assert.strictEqual(deleted.status, 204)
      assert.strictEqual((yield* call("GET", `/api/admin/scripts/${id}`)).status, 404)
      const gone = yield* call("GET", "/api/execute/hello")
      assert.strictEqual(gone.status, 404)
      assert.strictEqual(gone.json.error.code, "script_not_found")
    }))

  it.live("a source that does not compile is 422 with message, line and column; nothing is stored", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const res = yield* call("POST", "/api/admin/scripts", {
        body: { name: "broken", source: "export default function () {\n  return 1 +;\n}" }
      })
      assert.strictEqual(res.status, 422)
      assert.strictEqual(res.json.error.code, "script_invalid")
      assert.strictEqual(res.json.error.line, 2)
      assert.isNumber(res.json.error.column)
      assert.isString(res.json.error.message)
      assert.deepStrictEqual((yield* call("GET", "/api/admin/scripts")).json.items, [])

      const ok = yield* call("POST", "/api/admin/scripts", { body: { name: "fine", source: hello } })
      const put = yield* call("PUT", `/api/admin/scripts/${ok.json.id}`, { body: { source: "export default (" } })
      assert.strictEqual(put.status, 422)
      assert.strictEqual((yield* call("GET", `/api/admin/scripts/${ok.json.id}`)).json.version, 1)
    }))

  it.live("a duplicate name is 409, on create and on rename", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/scripts", { body: { name: "a", source: hello } })
      const b = yield* call("POST", "/api/admin/scripts", { body: { name: "b", source: hello } })
      const dup = yield* call("POST", "/api/admin/scripts", { body: { name: "a", source: hello } })
      assert.strictEqual(dup.status, 409)
      assert.strictEqual(dup.json.error.code, "script_name_taken")
      const rename = yield* call("PUT", `/api/admin/scripts/${b.json.id}`, { body: { name: "a", source: hello } })
      assert.strictEqual(rename.status, 409)
    }))

  it.live("an unknown id is 404 on get, update and delete", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      for (const id of ["6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11", "not-a-uuid"]) {
        for (const [method, body] of [["GET", undefined], ["PUT", { source: hello }], ["DELETE", undefined]] as const) {
          const res = yield* call(method, `/api/admin/scripts/${id}`, { body })
          assert.strictEqual(res.status, 404, `${method} ${id}`)
          assert.strictEqual(res.json.error.code, "script_not_found")
        }
      }
    }))

  it.live("a malformed body is 400 with the JSON error body", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const cases: ReadonlyArray<unknown> = [
        "{not json",
        { source: hello },
        { name: "x" },
        { name: "has space", source: hello },
        { name: "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11", source: hello },
        { name: "t", source: hello, timeout_seconds: 0 },
        { name: "t", source: hello, timeout_seconds: 301 },
        { name: "t", source: hello, timeout_seconds: 1.5 }
      ]
      for (const body of cases) {
        const res = yield* call("POST", "/api/admin/scripts", { body })
        assert.strictEqual(res.status, 400, JSON.stringify(body))
        assert.strictEqual(res.json?.error?.code, "bad_request", res.text)
        assert.isString(res.json.error.message)
      }
    }))

  it.live("the OpenAPI document lists the admin endpoints", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      assert.strictEqual((yield* call("GET", "/api/admin/openapi.json", { token: null })).status, 401)
      assert.strictEqual((yield* call("GET", "/api/admin/openapi.json", { token: "pc_wrong" })).status, 401)
      const res = yield* call("GET", "/api/admin/openapi.json")
      assert.strictEqual(res.status, 200)
      assert.includeMembers(Object.keys(res.json.paths), [
        "/api/admin/apps",
        "/api/admin/apps/{app}",
        "/api/admin/scripts",
        "/api/admin/scripts/{id}",
        "/api/admin/executions",
        "/api/admin/executions/{id}"
      ])
    }))
})
