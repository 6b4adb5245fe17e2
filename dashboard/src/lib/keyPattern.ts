/**
 * Whether a KV key matches a trigger's key pattern, as the platform decides it
 * (src/domain/KeyPattern.ts, which test/unit/dashboard/keyPattern.test.ts compares this with):
 * segments split on `/`; a whole-segment `*` is one non-empty segment, `*` inside a segment any
 * characters but `/`, `**` (a whole segment) zero or more segments; a pattern without `*` is the
 * exact key. A pattern the platform would refuse matches nothing.
 */
type Token =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "one" }
  | { readonly kind: "any" }
  | { readonly kind: "glob"; readonly parts: ReadonlyArray<string> }

const globMatches = (parts: ReadonlyArray<string>, segment: string) => {
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  if (segment.length < first.length + last.length) return false
  if (!segment.startsWith(first) || !segment.endsWith(last)) return false
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

export const keyMatches = (pattern: string, key: string): boolean => {
  if (pattern.length === 0) return false
  if (!pattern.includes("*")) return key === pattern
  const tokens: Array<Token> = []
  for (const segment of pattern.split("/")) {
    if (segment === "**") {
      if (tokens.at(-1)?.kind !== "any") tokens.push({ kind: "any" })
    } else if (segment.includes("**")) {
      return false
    } else if (segment === "*") {
      tokens.push({ kind: "one" })
    } else if (segment.includes("*")) {
      tokens.push({ kind: "glob", parts: segment.split("*") })
    } else {
      tokens.push({ kind: "literal", text: segment })
    }
  }
  return tokensMatch(tokens, key.split("/"))
}
