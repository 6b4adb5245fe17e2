import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "../../support/client.ts"

/**
 * Every error the process answers with has the JSON body `{ error: { code, message } }`: the
 * framework's own answers included. (Node's own, before any handler: test/e2e/AllInOne.test.ts.)
 */
describe("every error body is JSON; URLs no name can hold are a 400 before any route", () => {
  it.live("framework answers, malformed percent-encoding and NUL characters in paths and queries", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/scripts", {
        body: { name: "teapot", source: `export default () => ({ statusCode: 418, body: "short and stout" })` }
      })
      yield* call("POST", "/api/admin/routes", { body: { method: "GET", path: "/items/:id", script: "teapot" } })
      const cases: Array<[string, string, number, string, Record<string, string>?]> = [
        ["POST", "/api/admin/scripts", 415, "unsupported_media_type", { "content-type": "text/plain" }],
        ["GET", "/api/nothing-here", 404, "not_found"],
        ["GET", "/%C0%AF", 400, "bad_request"],
        ["GET", "/api/execute/%C0%AF", 400, "bad_request"],
        ["GET", "/api/admin/scripts/%C0%AF", 400, "bad_request"],
        ["GET", "/api/execute/%00", 400, "bad_request"],
        ["GET", "/api/execute/default/a%00b", 400, "bad_request"],
        ["GET", "/default/items/%00", 400, "bad_request"],
        ["GET", "/default/items/1?q=%00", 400, "bad_request"],
        ["GET", "/default/items/1?%00=1", 400, "bad_request"],
        ["GET", "/api/admin/scripts/%00", 400, "bad_request"],
        ["GET", "/api/admin/executions?script=%00", 400, "bad_request"],
        ["GET", "/api/executions/%00?wait=1", 400, "bad_request"]
      ]
      for (const [method, path, status, code, headers] of cases) {
        const res = yield* call(method, path, {
          ...(method === "POST" ? { body: "x" } : {}),
          ...(headers ? { headers } : {})
        })
        assert.strictEqual(res.status, status, `${method} ${path}: ${res.text}`)
        assert.strictEqual(res.headers.get("content-type"), "application/json", `${method} ${path}`)
        assert.strictEqual(res.json?.error?.code, code, `${method} ${path}: ${res.text}`)
        assert.isString(res.json.error.message)
      }
      // A script's own error answer is the script's: status, body and type as it wrote them.
      const own = yield* call("GET", "/default/items/1")
      assert.strictEqual(own.status, 418)
      assert.strictEqual(own.text, "short and stout")
    }))
})
