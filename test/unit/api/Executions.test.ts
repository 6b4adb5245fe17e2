import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "../../support/client.ts"

describe("admin API: executions", () => {
  it.live("GET /executions?script= takes a script id: anything else is a 400 saying so", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const bad = yield* call("GET", "/api/admin/executions?script=abc")
      assert.strictEqual(bad.status, 400, bad.text)
      assert.include(bad.json.error.message, "script")
      const ok = yield* call("GET", "/api/admin/executions?script=6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11")
      assert.strictEqual(ok.status, 200, ok.text)
      assert.deepStrictEqual(ok.json.items, [])
    }))
})
