import { Context, Effect, type Option, Schema } from "effect"
import type { InvalidCursor, PersistenceError } from "./Errors.ts"
import { unstorable } from "./StorableText.ts"

/** A key is 1–512 UTF-8 bytes. */
export const KV_MAX_KEY_BYTES = 512
/** Objects and arrays nest at most this deep in a value: deeper would overflow serialization (a 500). */
export const KV_MAX_DEPTH = 64
/** A page of a listing holds at most this many entries (values can be large). */
export const KV_MAX_PAGE = 100
export const KV_DEFAULT_PAGE = 50

const utf8 = new TextEncoder()
export const utf8Bytes = (text: string) => utf8.encode(text).length

/** Why `key` is not a key, or `undefined` when it is one. */
export const keyProblem = (key: string): string | undefined =>
  unstorable(key) ??
    (key.length === 0 || utf8Bytes(key) > KV_MAX_KEY_BYTES ? `must be 1-${KV_MAX_KEY_BYTES} UTF-8 bytes` : undefined)

/** A key, as API paths carry it. */
export const KvKey = Schema.String.check(Schema.makeFilter((key: string) => keyProblem(key) ?? true))

/** A listing's prefix: empty, or what could start a key. */
export const KvPrefix = Schema.String.check(
  Schema.makeFilter((prefix: string) => (prefix === "" ? true : keyProblem(prefix) ?? true))
)

/** The key is not 1–512 UTF-8 bytes of storable text. */
export class KvKeyInvalid extends Schema.TaggedError<KvKeyInvalid>()("KvKeyInvalid", {
  key: Schema.String,
  reason: Schema.String
}) {}

/** The value holds text that cannot be stored (NUL, an unpaired surrogate), or nests too deep. */
export class KvValueInvalid extends Schema.TaggedError<KvValueInvalid>()("KvValueInvalid", {
  key: Schema.String,
  reason: Schema.String
}) {}

/** The value's JSON is over `PICLOUD_KV_MAX_VALUE_BYTES` (UTF-8 bytes). */
export class KvValueTooLarge extends Schema.TaggedError<KvValueTooLarge>()("KvValueTooLarge", {
  key: Schema.String,
  bytes: Schema.Int,
  limit: Schema.Int
}) {}

/** An `ifVersion` did not hold: the key was at `actual` (0: absent), not `expected`. */
export class KvConflict extends Schema.TaggedError<KvConflict>()("KvConflict", {
  key: Schema.String,
  expected: Schema.Int,
  actual: Schema.Int
}) {}

/** A stored value and its version (1 on creation, +1 on every write). */
export const KvEntry = Schema.Struct({
  value: Schema.Json,
  version: Schema.Int,
  updated_at: Schema.String
})
export type KvEntry = typeof KvEntry.Type

export const KvItem = Schema.Struct({ key: Schema.String, ...KvEntry.fields })
export type KvItem = typeof KvItem.Type

/** A page of a listing, in key order (UTF-8 bytes); `cursor` continues it, `null` at the end. */
export const KvPage = Schema.Struct({ items: Schema.Array(KvItem), cursor: Schema.NullOr(Schema.String) })
export type KvPage = typeof KvPage.Type

/** `ifVersion`: the key's version the write expects, 0 for "must not exist". */
const IfVersion = Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))

/** One write of a commit. */
export const KvWrite = Schema.Union([
  Schema.Struct({ op: Schema.Literal("set"), key: Schema.String, value: Schema.Json, ifVersion: IfVersion }),
  Schema.Struct({ op: Schema.Literal("delete"), key: Schema.String, ifVersion: IfVersion })
])
export type KvWrite = typeof KvWrite.Type

/**
 * What one write did, as a trigger event will carry it. `version` is the key's version after the
 * write and `old_version` before it (0: absent), so a delete has `version` 0, and a delete of an
 * absent key changed nothing (`old_version` 0). `value`/`old_value` are `null` where there is none;
 * the versions tell that apart from a stored JSON `null`.
 */
export const KvChange = Schema.Struct({
  op: Schema.Literals(["set", "delete"]),
  key: Schema.String,
  value: Schema.Json,
  old_value: Schema.Json,
  version: Schema.Int,
  old_version: Schema.Int,
  updated_at: Schema.NullOr(Schema.String)
})
export type KvChange = typeof KvChange.Type

export interface KvListOptions {
  readonly prefix?: string | undefined
  /** Clamped to 1–`KV_MAX_PAGE`. */
  readonly limit: number
  readonly cursor?: string | undefined
}

export type KvWriteError = KvKeyInvalid | KvValueInvalid | KvValueTooLarge | KvConflict

/** Each app's key-value store. */
export class KvStore extends Context.Service<KvStore, {
  readonly get: (appId: string, key: string) => Effect.Effect<Option.Option<KvEntry>, KvKeyInvalid | PersistenceError>
  /** Keyset pagination by key: `cursor` is opaque, from the previous page. */
  readonly list: (
    appId: string,
    options: KvListOptions
  ) => Effect.Effect<KvPage, KvKeyInvalid | InvalidCursor | PersistenceError>
  /**
   * Applies the writes in order, all or none (one transaction on PostgreSQL; inside one already
   * open it joins it, so trigger rows go with it, and its failure must roll that one back). Fails with `KvConflict` at the first
   * `ifVersion` that does not hold. Returns what each write did, in the order given.
   */
  readonly commit: (
    appId: string,
    writes: ReadonlyArray<KvWrite>
  ) => Effect.Effect<ReadonlyArray<KvChange>, KvWriteError | PersistenceError>
  /** Removes every key of the app (its deletion), firing no trigger. */
  readonly dropApp: (appId: string) => Effect.Effect<void, PersistenceError>
}>()("picloud/domain/KvStore") {}

/** A checked write: a set carries its value's JSON text. */
export type CheckedWrite =
  | { readonly op: "set"; readonly key: string; readonly json: string; readonly ifVersion: number | undefined }
  | { readonly op: "delete"; readonly key: string; readonly ifVersion: number | undefined }

/**
 * Why `value` cannot be stored, and where (`$.a[0]`), walked without recursion: a deep value must
 * not overflow the stack.
 */
const valueProblem = (value: unknown): string | undefined => {
  const pending: Array<readonly [unknown, number, string]> = [[value, 0, "$"]]
  while (pending.length > 0) {
    const [next, depth, at] = pending.pop()!
    if (typeof next === "string") {
      const problem = unstorable(next)
      if (problem !== undefined) return `at ${at}: a string ${problem}`
    } else if (Array.isArray(next)) {
      if (depth >= KV_MAX_DEPTH) return `at ${at}: objects and arrays nest at most ${KV_MAX_DEPTH} deep`
      next.forEach((inner, i) => pending.push([inner, depth + 1, `${at}[${i}]`]))
    } else if (typeof next === "object" && next !== null) {
      if (depth >= KV_MAX_DEPTH) return `at ${at}: objects and arrays nest at most ${KV_MAX_DEPTH} deep`
      for (const [name, inner] of Object.entries(next)) {
        const problem = unstorable(name)
        if (problem !== undefined) return `at ${at}: a property name ${problem}`
        pending.push([inner, depth + 1, `${at}.${name}`])
      }
    }
  }
  return undefined
}

/**
 * Checks every write before any is applied: keys, then values (storable, nesting, size). Both
 * stores run it, so both refuse the same writes with the same errors.
 */
export const checkWrites = (writes: ReadonlyArray<KvWrite>, maxValueBytes: number) =>
  Effect.forEach(writes, (write): Effect.Effect<CheckedWrite, KvKeyInvalid | KvValueInvalid | KvValueTooLarge> => {
    const keyReason = keyProblem(write.key)
    if (keyReason !== undefined) return Effect.fail(new KvKeyInvalid({ key: write.key, reason: keyReason }))
    if (write.op === "delete") return Effect.succeed({ op: "delete", key: write.key, ifVersion: write.ifVersion })
    const valueReason = valueProblem(write.value)
    if (valueReason !== undefined) return Effect.fail(new KvValueInvalid({ key: write.key, reason: valueReason }))
    const json = JSON.stringify(write.value)
    const bytes = utf8Bytes(json)
    if (bytes > maxValueBytes) return Effect.fail(new KvValueTooLarge({ key: write.key, bytes, limit: maxValueBytes }))
    return Effect.succeed({ op: "set", key: write.key, json, ifVersion: write.ifVersion })
  })

export const checkKey = (key: string) => {
  const reason = keyProblem(key)
  return reason === undefined ? Effect.void : Effect.fail(new KvKeyInvalid({ key, reason }))
}

/**
 * Keys in UTF-8 byte order (PostgreSQL's `COLLATE "C"`), which is code point order. UTF-16 order
 * is the same except that a surrogate (a code point above U+FFFF) must sort after every other unit.
 */
export const compareKeys = (a: string, b: string) => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    const xSurrogate = x >= 0xd800 && x <= 0xdfff
    const ySurrogate = y >= 0xd800 && y <= 0xdfff
    return xSurrogate === ySurrogate ? x - y : xSurrogate ? 1 : -1
  }
  return a.length - b.length
}

/**
 * The writes' positions in key order, stable (a key's writes keep their order). Applying a batch
 * in this order locks keys in one global order, so two commits can never deadlock on each other.
 */
export const keyOrder = (writes: ReadonlyArray<{ readonly key: string }>) =>
  writes.map((_, i) => i).sort((i, j) => compareKeys(writes[i]!.key, writes[j]!.key) || i - j)

export const clampLimit = (limit: number) => Math.min(Math.max(Math.trunc(limit), 1), KV_MAX_PAGE)
