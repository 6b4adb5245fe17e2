/**
 * JSON text PostgreSQL's `jsonb` accepts for any value. `jsonb` (like `text`) cannot hold U+0000,
 * nor a lone UTF-16 surrogate, which JSON.stringify writes as `\u0000` / `\udXXX` escapes: one such
 * string in a script's log line or response would fail the whole write (an execution record
 * batch, an outbox row). Both become U+FFFD (the replacement character), in keys and values.
 * Strings without them, nearly all, cost one regular-expression test of the text.
 */
export const storableJson = (value: unknown): string => {
  const json = JSON.stringify(value)
  return UNSTORABLE_ESCAPE.test(json) ? JSON.stringify(storable(value)) : json
}

/** Over-matches (an escaped backslash followed by `u0000` also matches): that only costs the slow path. */
const UNSTORABLE_ESCAPE = /\\u(0000|d[89a-f])/i

const storableString = (text: string) => text.toWellFormed().replaceAll("\u0000", "\uFFFD")

const storable = (value: unknown): unknown => {
  if (typeof value === "string") return storableString(value)
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map(storable)
  // What JSON.stringify would write for it (a Date, a class with toJSON), then made storable.
  const plain = typeof (value as { toJSON?: unknown }).toJSON === "function"
    ? (value as { toJSON: () => unknown }).toJSON()
    : value
  if (plain !== value) return storable(plain)
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [storableString(key), storable(inner)]))
}
