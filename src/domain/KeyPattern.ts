import { Schema } from "effect"
import { KV_MAX_KEY_BYTES, utf8Bytes } from "./KvStore.ts"
import { StorableText, unstorable } from "./StorableText.ts"

/** A key pattern is at most as long as a key: 512 UTF-8 bytes. */
export const MAX_KEY_PATTERN_BYTES = KV_MAX_KEY_BYTES

/**
 * One segment of a pattern with a wildcard in it (`/` separates segments):
 * - `one`: a whole-segment `*`, exactly one segment, not empty;
 * - `any`: `**`, zero or more segments, empty ones included;
 * - `glob`: a segment with `*` inside (`2024-*`), the text around each `*` literal, each `*` any
 *   run of characters (none included); `parts` is the segment split at its `*`s;
 * - `literal`: the segment as it is (possibly empty: `a//b`).
 */
type Token =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "one" }
  | { readonly kind: "any" }
  | { readonly kind: "glob"; readonly parts: ReadonlyArray<string> }

/** A pattern compiled once, so that matching a key costs no parsing. */
export interface KeyMatcher {
  readonly pattern: string
  /** Whether `key` matches; `segments` is `key.split("/")`, which a caller testing many patterns splits once. */
  readonly matches: (key: string, segments?: ReadonlyArray<string>) => boolean
}

/** `segment` fits `parts` (a segment split at its `*`s): each `*` any run of characters. */
const globMatches = (parts: ReadonlyArray<string>, segment: string) => {
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  if (segment.length < first.length + last.length) return false
  if (!segment.startsWith(first) || !segment.endsWith(last)) return false
  // The leftmost place for each middle part leaves the most room for the rest: no backtracking.
  const end = segment.length - last.length
  let at = first.length
  for (let i = 1; i < parts.length - 1; i++) {
    const found = segment.indexOf(parts[i]!, at)
    if (found === -1 || found + parts[i]!.length > end) return false
    at = found + parts[i]!.length
  }
  return true
}

const tokenMatches = (token: Token, segment: string) =>
  token.kind === "literal"
    ? segment === token.text
    : token.kind === "one"
    ? segment !== ""
    : token.kind === "glob"
    ? globMatches(token.parts, segment)
    : true

/**
 * Tokens against segments, `any` taking zero or more. The classic wildcard walk: on a mismatch, go
 * back to the last `any` and let it take one more segment. Every other token takes exactly one
 * segment, so this is exact, and it is O(tokens × segments): no pattern can make it exponential.
 */
const tokensMatch = (tokens: ReadonlyArray<Token>, segments: ReadonlyArray<string>) => {
  let t = 0
  let s = 0
  let lastAny = -1
  let resumeAt = 0
  while (s < segments.length) {
    const token = tokens[t]
    if (token !== undefined && token.kind === "any") {
      lastAny = t++
      resumeAt = s
    } else if (token !== undefined && tokenMatches(token, segments[s]!)) {
      t++
      s++
    } else if (lastAny !== -1) {
      t = lastAny + 1
      s = ++resumeAt
    } else {
      return false
    }
  }
  while (t < tokens.length && tokens[t]!.kind === "any") t++
  return t === tokens.length
}

const toToken = (segment: string): Token | string => {
  if (segment === "**") return { kind: "any" }
  if (segment.includes("**")) return `'**' must be a whole segment (as in 'a/**/b'), not part of '${segment}'`
  if (segment === "*") return { kind: "one" }
  if (segment.includes("*")) return { kind: "glob", parts: segment.split("*") }
  return { kind: "literal", text: segment }
}

/**
 * `pattern`'s matcher, or why it is not a key pattern. Segments are split on `/`: a whole-segment
 * `*` matches exactly one (non-empty) segment, `*` inside a segment any characters but `/`, `**`
 * (a whole segment only) zero or more segments; anything else is literal, so a pattern without
 * `*` is an exact key.
 */
export const compileKeyPattern = (pattern: string): KeyMatcher | string => {
  const problem = unstorable(pattern)
  if (problem !== undefined) return problem
  if (pattern.length === 0) return "must not be empty"
  if (utf8Bytes(pattern) > MAX_KEY_PATTERN_BYTES) return `must be at most ${MAX_KEY_PATTERN_BYTES} UTF-8 bytes`
  if (!pattern.includes("*")) return { pattern, matches: (key) => key === pattern }
  const tokens: Array<Token> = []
  for (const segment of pattern.split("/")) {
    const token = toToken(segment)
    if (typeof token === "string") return token
    // `**/**` matches what `**` matches: one is enough (and keeps the walk short).
    if (token.kind === "any" && tokens.at(-1)?.kind === "any") continue
    tokens.push(token)
  }
  return { pattern, matches: (key, segments = key.split("/")) => tokensMatch(tokens, segments) }
}

/** Whether `key` matches `pattern` (an invalid pattern matches nothing). Compiles each time: tests and one-offs. */
export const matchesKey = (pattern: string, key: string) => {
  const matcher = compileKeyPattern(pattern)
  return typeof matcher !== "string" && matcher.matches(key)
}

/**
 * A key pattern as the admin API takes it: storable, bounded, and compiling. Its message says what
 * is wrong (`**` inside a segment, too long, ...).
 */
export const KeyPattern = StorableText(MAX_KEY_PATTERN_BYTES).check(
  Schema.makeFilter((pattern: string) => {
    const compiled = compileKeyPattern(pattern)
    return typeof compiled === "string" ? compiled : true
  })
)
