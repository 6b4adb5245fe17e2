import { assert, describe, it } from "vitest"
import { requestTarget } from "../../../src/orchestrator/http/requestTarget.ts"

const viaUrl = (target: string) => {
  const url = new URL(target, "http://localhost")
  return { path: url.pathname, query: Object.fromEntries(url.searchParams) }
}

describe("requestTarget", () => {
  it("splits a target as URL would, whatever it holds", () => {
    for (
      const target of [
        "/api/execute/hello",
        "/api/execute/hello?",
        "/api/execute/hello?k=1&k=2&x=a%20b&y=c+d&z",
        "/shop/items/a%2Fb?q=%E2%9C%93",
        "/app/v1.2/file.txt?x=1.5",
        "/app/../admin?x=1",
        "/app/./x",
        "/app/.hidden",
        "/app/x y?q=a b",
        "/app/é?q=é",
        "/app/x#frag?y=1",
        "/app/x?y=1#frag",
        "//double//slash",
        "/app/x\\y",
        "/app/%2e%2e/admin",
        "/app/.%2E/admin",
        "/app/%2E./admin?x=%2e",
        "/app/x?a=1?b=2",
        "/app/{x}?q=<y>"
      ]
    ) {
      assert.deepStrictEqual(requestTarget(target), viaUrl(target), target)
    }
  })
})
