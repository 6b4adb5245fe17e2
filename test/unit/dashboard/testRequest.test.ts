import { assert, describe, it } from "vitest"
import { parseHeaders, parseQuery, prettyBody, testRunPayload } from "../../../dashboard/src/lib/testRequest.ts"

describe("dashboard: the test-run form as a request", () => {
  it("reads one header a line, names lower-cased, values trimmed, blank lines skipped", () => {
    assert.deepStrictEqual(parseHeaders("X-One: 1\r\n\n  Content-Type :  text/plain \nx-url: http://a:b"), {
      "x-one": "1",
      "content-type": "text/plain",
      "x-url": "http://a:b"
    })
    assert.deepStrictEqual(parseHeaders(""), {})
  })

  it("a line without a name is an error quoting it", () => {
    assert.throws(() => parseHeaders("no colon here"), /"no colon here"/)
    assert.throws(() => parseHeaders(": value"), /Name: value/)
  })

  it("reads a query with or without its ?", () => {
    assert.deepStrictEqual(parseQuery("?name=pi&x=a%20b"), { name: "pi", x: "a b" })
    assert.deepStrictEqual(parseQuery("name=pi"), { name: "pi" })
    assert.deepStrictEqual(parseQuery("  "), {})
  })

  it("sends a body only with a method that has one, and a path that starts with /", () => {
    const form = { method: "GET", path: "orders", query: "a=1", headers: "X: 1", body: "ignored" }
    assert.deepStrictEqual(testRunPayload(form), {
      method: "GET",
      path: "/orders",
      query: { a: "1" },
      headers: { x: "1" }
    })
    assert.deepStrictEqual(testRunPayload({ ...form, method: "POST", path: "" }).body, "ignored")
    assert.strictEqual(testRunPayload({ ...form, method: "POST", path: "" }).path, "/")
    assert.notProperty(testRunPayload({ ...form, method: "DELETE" }), "body")
  })

  it("indents a JSON body, leaves anything else alone", () => {
    assert.strictEqual(prettyBody(`{"a":1}`, { "Content-Type": "application/json" }), `{\n  "a": 1\n}`)
    assert.strictEqual(prettyBody(`{"a":1}`, { "content-type": "text/plain" }), `{"a":1}`)
    assert.strictEqual(prettyBody(`{broken`, { "content-type": "application/json" }), `{broken`)
  })
})
