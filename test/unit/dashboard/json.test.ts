import { assert, describe, it } from "vitest"
import { formatJson, parseJson, previewJson } from "../../../dashboard/src/lib/json.ts"

describe("dashboard JSON editing", () => {
  it("parseJson takes any JSON value, and says why text is not one", () => {
    assert.deepStrictEqual(parseJson(" {\"a\": [1, null]} "), { ok: true, value: { a: [1, null] } })
    assert.deepStrictEqual(parseJson("0"), { ok: true, value: 0 })
    assert.deepStrictEqual(parseJson("\"hi\""), { ok: true, value: "hi" })
    const bare = parseJson("hello")
    assert.isFalse(bare.ok)
    assert.match(!bare.ok ? bare.message : "", /^Not JSON: /)
    const empty = parseJson("   ")
    assert.isFalse(empty.ok)
    assert.match(!empty.ok ? empty.message : "", /Enter a JSON value/)
    assert.isFalse(parseJson("{\"a\": 1,}").ok)
  })

  it("formatJson indents; previewJson cuts long values to one short line", () => {
    assert.strictEqual(formatJson({ a: 1 }), "{\n  \"a\": 1\n}")
    assert.strictEqual(formatJson(null), "null")
    assert.strictEqual(previewJson({ a: 1 }), "{\"a\":1}")
    const long = previewJson({ text: "x".repeat(200) }, 20)
    assert.strictEqual(long.length, 20)
    assert.isTrue(long.endsWith("…"))
  })
})
