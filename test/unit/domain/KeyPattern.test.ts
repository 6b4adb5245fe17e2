import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { compileKeyPattern, KeyPattern, matchesKey } from "../../../src/domain/KeyPattern.ts"

/** [pattern, key, matches] */
const CASES: ReadonlyArray<readonly [string, string, boolean]> = [
  // exact keys
  ["orders/42", "orders/42", true],
  ["orders/42", "orders/420", false],
  ["orders/42", "orders", false],
  ["orders", "orders/42", false],
  ["a//b", "a//b", true],
  ["a//b", "a/b", false],
  ["/a", "/a", true],
  ["a/", "a/", true],
  ["a/", "a", false],
  ["what?[x]", "what?[x]", true],
  ["what?[x]", "whatX[x]", false],
  ["café/ünïcode/日本", "café/ünïcode/日本", true],
  ["café", "cafe\u0301", false],
  // `*`: exactly one segment, not empty
  ["orders/*", "orders/42", true],
  ["orders/*", "orders/42/items", false],
  ["orders/*", "orders", false],
  ["orders/*", "orders/", false],
  ["users/*/profile", "users/ann/profile", true],
  ["users/*/profile", "users//profile", false],
  ["users/*/profile", "users/ann/bob/profile", false],
  ["users/*/profile", "users/ann/profile/x", false],
  ["*", "anything", true],
  ["*", "a/b", false],
  ["*", "日本", true],
  ["*/*", "a/b", true],
  ["*/*", "a", false],
  // `*` inside a segment: any characters but `/` (none included)
  ["logs/2024-*", "logs/2024-05-01", true],
  ["logs/2024-*", "logs/2024-", true],
  ["logs/2024-*", "logs/2023-05-01", false],
  ["logs/2024-*", "logs/2024-05/01", false],
  ["*.json", "a.json", true],
  ["*.json", ".json", true],
  ["*.json", "a.jsonx", false],
  ["a*b*c", "abc", true],
  ["a*b*c", "aXXbYYc", true],
  ["a*b*c", "abcb", false],
  ["a*b*c", "acb", false],
  ["a*ab", "aab", true],
  ["a*ab", "ab", false],
  ["x*x", "x", false],
  ["x*x", "xx", true],
  ["ü*ß", "üXYß", true],
  ["*a*a*a*a*a*a*a*a*b", "a".repeat(400), false],
  // `**`: zero or more segments
  ["orders/**", "orders", true],
  ["orders/**", "orders/", true],
  ["orders/**", "orders/42", true],
  ["orders/**", "orders/42/items/7", true],
  ["orders/**", "ordersX", false],
  ["orders/**", "order", false],
  ["a/**", "a", true],
  ["a/**", "b/a", false],
  ["**/x", "x", true],
  ["**/x", "a/x", true],
  ["**/x", "a/b/c/x", true],
  ["**/x", "a/x/y", false],
  ["**/x", "ax", false],
  ["**", "anything/at/all", true],
  ["**", "", true],
  ["a/**/b", "a/b", true],
  ["a/**/b", "a/x/b", true],
  ["a/**/b", "a/x/y/z/b", true],
  ["a/**/b", "a/b/c", false],
  ["a/**/b", "a/b/b", true],
  ["a/**/b/**/c", "a/b/c", true],
  ["a/**/b/**/c", "a/x/b/y/b/z/c", true],
  ["a/**/b/**/c", "a/x/c/b", false],
  ["**/**", "a/b", true],
  ["a/**/**/b", "a/b", true],
  ["**/*/**", "", false],
  ["**/*/**", "x", true],
  ["**/*/x", "x", false],
  ["**/*/x", "a/x", true],
  ["**/2024-*/done", "jobs/eu/2024-07/done", true],
  ["**/2024-*/done", "jobs/eu/2025-07/done", false],
  ["**/a/**/a/**/a/**/b", "a/".repeat(200) + "c", false],
  ["**/a/**/a/**/a/**/b", "a/".repeat(200) + "b", true]
]

describe("KeyPattern", () => {
  it("matches keys by segments: exact, *, * inside a segment, **", () => {
    for (const [pattern, key, expected] of CASES) {
      assert.strictEqual(matchesKey(pattern, key), expected, `${pattern} ~ ${JSON.stringify(key)}`)
    }
  })

  it("a compiled matcher takes the key's segments split once by the caller", () => {
    const matcher = compileKeyPattern("users/*/profile")
    assert.isNotString(matcher)
    if (typeof matcher === "string") return
    assert.strictEqual(matcher.pattern, "users/*/profile")
    assert.isTrue(matcher.matches("users/ann/profile", ["users", "ann", "profile"]))
    assert.isFalse(matcher.matches("users/ann", ["users", "ann"]))
  })

  it("agrees with a brute-force reference on every pattern and key over a small alphabet", () => {
    // The rules, written as plainly as possible: recursion over segments, a regular expression per
    // segment (the alphabet has no character special to regular expressions).
    const segmentMatches = (token: string, segment: string) =>
      token === "*" ? segment !== "" : new RegExp(`^${token.replaceAll("*", ".*")}$`).test(segment)
    const reference = (tokens: ReadonlyArray<string>, segments: ReadonlyArray<string>): boolean => {
      if (tokens.length === 0) return segments.length === 0
      const [token, ...rest] = tokens
      if (token === "**") {
        return reference(rest, segments) || (segments.length > 0 && reference(tokens, segments.slice(1)))
      }
      return segments.length > 0 && segmentMatches(token!, segments[0]!) && reference(rest, segments.slice(1))
    }
    const pieces = ["a", "b", "*", "**", "a*", "*b", "a*b", ""]
    const keys = [
      "",
      "a",
      "b",
      "ab",
      "aab",
      "a/b",
      "a/a",
      "b/a",
      "a//b",
      "a/b/a",
      "ab/b",
      "a/ab/b",
      "/",
      "a/",
      "b/b/b/b"
    ]
    let checked = 0
    for (const x of pieces) {
      for (const y of pieces) {
        for (const z of pieces) {
          for (const pattern of new Set([x, `${x}/${y}`, `${x}/${y}/${z}`])) {
            if (typeof compileKeyPattern(pattern) === "string") continue
            for (const key of keys) {
              checked++
              assert.strictEqual(
                matchesKey(pattern, key),
                reference(pattern.split("/"), key.split("/")),
                `${pattern} ~ ${JSON.stringify(key)}`
              )
            }
          }
        }
      }
    }
    assert.isAbove(checked, 5000)
  })

  it("refuses empty, over 512 UTF-8 bytes, ** inside a segment and unstorable text, saying why", () => {
    const refused: ReadonlyArray<readonly [string, string]> = [
      ["", "empty"],
      ["a".repeat(513), "512 UTF-8 bytes"],
      ["é".repeat(257), "512 UTF-8 bytes"],
      ["a**", "'**' must be a whole segment"],
      ["**b/c", "'**' must be a whole segment"],
      ["a/***", "'**' must be a whole segment"],
      ["a/b**c/d", "not part of 'b**c'"],
      ["a\u0000b", "NUL"],
      ["a\ud800", "surrogates"]
    ]
    for (const [pattern, reason] of refused) {
      const compiled = compileKeyPattern(pattern)
      assert.isString(compiled, pattern.slice(0, 20))
      assert.include(compiled, reason)
      assert.isFalse(matchesKey(pattern, pattern))
    }
    for (const pattern of ["a".repeat(512), "é".repeat(256), "**", "*", "/", "a/**/b", "a*b*c"]) {
      assert.isNotString(compileKeyPattern(pattern), pattern.slice(0, 20))
    }
  })

  it("the schema carries the reason in its message", () => {
    const decode = Schema.decodeUnknownExit(KeyPattern)
    const failed = decode("a/b**")
    assert.strictEqual(failed._tag, "Failure")
    assert.include(String(failed), "'**' must be a whole segment")
    assert.strictEqual(decode("orders/**")._tag, "Success")
    assert.strictEqual(decode("x".repeat(100_000))._tag, "Failure")
  })
})
