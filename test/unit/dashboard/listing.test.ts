import { assert, describe, it } from "vitest"
import {
  apiQuery,
  filtersOf,
  filterText,
  pageParam,
  paginate,
  withParam,
  withQuery
} from "../../../dashboard/src/lib/listing.ts"

describe("dashboard lists in the URL", () => {
  it("withQuery leaves out empty values and encodes the rest", () => {
    assert.strictEqual(withQuery("/routes", {}), "/routes")
    assert.strictEqual(withQuery("/routes", { app: "shop", q: "", page: null, x: undefined }), "/routes?app=shop")
    assert.strictEqual(withQuery("/kv", { app: "a b", prefix: "x/&y", page: 2 }), "/kv?app=a+b&prefix=x%2F%26y&page=2")
  })

  it("withParam changes one filter, and a changed filter starts over at page 1", () => {
    const query = new URLSearchParams("app=shop&q=ord&page=3")
    assert.strictEqual(withParam("/routes", query, "q", "pay"), "/routes?app=shop&q=pay")
    assert.strictEqual(withParam("/routes", query, "q", ""), "/routes?app=shop")
    assert.strictEqual(withParam("/routes", query, "page", "4"), "/routes?app=shop&q=ord&page=4")
  })

  it("withParam drops the API's cursor too, as a place in a list; it leaves the path bare when nothing is left", () => {
    const query = new URLSearchParams("app=shop&status=failed&cursor=abc")
    assert.strictEqual(withParam("/executions", query, "status", "succeeded"), "/executions?app=shop&status=succeeded")
    assert.strictEqual(withParam("/executions", query, "status", ""), "/executions?app=shop")
    assert.strictEqual(withParam("/kv", query, "cursor", "def"), "/kv?app=shop&status=failed&cursor=def")
    assert.strictEqual(withParam("/tail", new URLSearchParams("app=shop"), "app", ""), "/tail")
    assert.strictEqual(withParam("", new URLSearchParams(), "script", "a b"), "?script=a+b")
  })

  it("filtersOf reads the filters named, absent ones as empty", () => {
    assert.deepStrictEqual(filtersOf(new URLSearchParams("app=shop&x=1"), ["app", "status"]), {
      app: "shop",
      status: ""
    })
  })

  it("apiQuery holds only the filters set, with the extras", () => {
    assert.strictEqual(apiQuery({ app: "shop", status: "" }, { limit: "50", cursor: "" }), "app=shop&limit=50")
    assert.strictEqual(apiQuery({ key: "a/b" }), "key=a%2Fb")
    assert.strictEqual(apiQuery({}), "")
  })

  it("filterText matches any field, case-insensitively; an empty text keeps everything", () => {
    const items = [{ a: "Orders", b: "x" }, { a: "users", b: "ORD" }, { a: "pay", b: "" }]
    assert.deepStrictEqual(filterText(items, "ord", (i) => [i.a, i.b]), items.slice(0, 2))
    assert.deepStrictEqual(filterText(items, "  ", (i) => [i.a]), items)
    assert.deepStrictEqual(filterText(items, "zzz", (i) => [i.a]), [])
  })

  it("paginate clamps the page to the pages there are; pageParam takes only positive integers", () => {
    const items = Array.from({ length: 7 }, (_, i) => i)
    assert.deepStrictEqual(paginate(items, 1, 3), { items: [0, 1, 2], page: 1, pages: 3, total: 7 })
    assert.deepStrictEqual(paginate(items, 3, 3), { items: [6], page: 3, pages: 3, total: 7 })
    assert.deepStrictEqual(paginate(items, 99, 3).page, 3)
    assert.deepStrictEqual(paginate(items, 0, 3).page, 1)
    assert.deepStrictEqual(paginate([], 2, 3), { items: [], page: 1, pages: 1, total: 0 })
    assert.strictEqual(pageParam("2"), 2)
    for (const bad of [null, "", "0", "-1", "1.5", "abc", "1e400"]) assert.strictEqual(pageParam(bad), 1, String(bad))
  })
})
