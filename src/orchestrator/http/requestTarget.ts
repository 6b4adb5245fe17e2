/**
 * A request target (`request.url`: the path and query as sent) split into its path and query, as
 * `new URL(target, base)` would: a target made only of characters a URL keeps as they are, without
 * dot segments (or anything like one), a fragment or a leading `//`, is split at its `?` (a string split, not a URL parse, on every
 * request); any other goes through `URL`, which normalizes it.
 */
const PLAIN = /^\/(?!\/)[\w\-.~!$&'()*+,;=:@/%]*(?:\?[\w\-.~!$&'()*+,;=:@/%?]*)?$/
/** What URL would resolve or read as a dot segment (`/.`, `/..`, their percent-encoded forms). */
const DOT_SEGMENT = /\/\.|%2e/i

export interface RequestTarget {
  readonly path: string
  /** The query's parameters, percent-decoded; the last of a repeated name wins. */
  readonly query: Record<string, string>
}

export const requestTarget = (target: string): RequestTarget => {
  if (PLAIN.test(target) && !DOT_SEGMENT.test(target)) {
    const mark = target.indexOf("?")
    if (mark === -1) return { path: target, query: {} }
    return { path: target.slice(0, mark), query: Object.fromEntries(new URLSearchParams(target.slice(mark + 1))) }
  }
  const url = new URL(target, "http://localhost")
  return { path: url.pathname, query: Object.fromEntries(url.searchParams) }
}
