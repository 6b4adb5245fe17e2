import { assert, describe, it } from "vitest"
import { keyMatches } from "../../../dashboard/src/lib/keyPattern.ts"
import { kvPath, routeUrl } from "../../../dashboard/src/lib/urls.ts"
import { matchesKey } from "../../../src/domain/KeyPattern.ts"

const PATTERNS = [
  "a/1",
  "a/*",
  "a/**",
  "**",
  "*",
  "a/*/c",
  "a/**/c",
  "**/c",
  "2024-*",
  "a/x*y*z",
  "a/*-*",
  "a//b",
  "a/**/**/b",
  "a/b**",
  "",
  "orders/*/status"
]
const KEYS = [
  "a/1",
  "a",
  "a/",
  "a/b",
  "a/b/c",
  "a/c",
  "a//c",
  "c",
  "x/c",
  "2024-01",
  "2024",
  "a/xyz",
  "a/xAyBz",
  "a/xyzz",
  "a/1-2",
  "a/-",
  "a/12",
  "a//b",
  "a/b/x/b",
  "orders/42/status",
  "orders//status",
  "b/a/1",
  ""
]

describe("dashboard key patterns", () => {
  it("keyMatches agrees with the platform's matcher on every pattern and key of a table", () => {
    for (const pattern of PATTERNS) {
      for (const key of KEYS) {
        assert.strictEqual(
          keyMatches(pattern, key),
          matchesKey(pattern, key),
          `${JSON.stringify(pattern)} ~ ${JSON.stringify(key)}`
        )
      }
    }
    assert.isTrue(keyMatches("a/*", "a/1"))
    assert.isFalse(keyMatches("a/*", "a/1/2"))
  })
})

describe("dashboard URLs", () => {
  it("routeUrl is the origin, the app and the path; kvPath escapes the key as one segment", () => {
    assert.strictEqual(
      routeUrl("http://localhost:8080", "shop", "/orders/:id"),
      "http://localhost:8080/shop/orders/:id"
    )
    assert.strictEqual(routeUrl("http://localhost:8080/", "shop", "/"), "http://localhost:8080/shop/")
    assert.strictEqual(kvPath("shop", "a/b c"), "/apps/shop/kv/a%2Fb%20c")
  })
})
