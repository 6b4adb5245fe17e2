import { assert, describe, it } from "vitest"
import { apiQuery, filtersOf, withFilter } from "../../../dashboard/src/lib/filters.ts"

describe("dashboard: filters in the URL", () => {
  it("sets, replaces and removes one filter, keeping the others and dropping the page position", () => {
    const query = new URLSearchParams("app=shop&status=failed&cursor=abc")
    assert.strictEqual(withFilter(query, "status", "succeeded"), "?app=shop&status=succeeded")
    assert.strictEqual(withFilter(query, "status", ""), "?app=shop")
    assert.strictEqual(withFilter(new URLSearchParams("app=shop"), "app", ""), "")
    assert.strictEqual(withFilter(new URLSearchParams(), "script", "a b"), "?script=a+b")
  })

  it("reads the filters named, absent ones as empty", () => {
    assert.deepStrictEqual(filtersOf(new URLSearchParams("app=shop&x=1"), ["app", "status"]), {
      app: "shop",
      status: ""
    })
  })

  it("an API query holds only the filters set, with the extras", () => {
    assert.strictEqual(apiQuery({ app: "shop", status: "" }, { limit: "50", cursor: "" }), "app=shop&limit=50")
    assert.strictEqual(apiQuery({}), "")
  })
})
