import { Effect, Option, type Schema } from "effect"
import type { InvalidCursor, PersistenceError } from "../domain/Errors.ts"
import { HostCallFailed, type HostCalls } from "../domain/HostCall.ts"
import {
  checkKey,
  checkWrites,
  compareKeys,
  KV_DEFAULT_PAGE,
  KV_MAX_PAGE,
  type KvKeyInvalid,
  type KvStore,
  type KvValueInvalid,
  type KvValueTooLarge,
  type KvWrite,
  utf8Bytes
} from "../domain/KvStore.ts"
import { encodeKvCursor, kvPageStart } from "../manager/kvCursor.ts"

/** Per-execution caps (`PICLOUD_KV_MAX_OPS`, `PICLOUD_KV_MAX_PENDING_BYTES`, `PICLOUD_KV_MAX_VALUE_BYTES`). */
export interface KvSessionLimits {
  readonly maxOps: number
  readonly maxPendingBytes: number
  readonly maxValueBytes: number
}

/**
 * One execution's view of its app's key-value store, behind the script's `kv` global. Reads go to
 * the store and see the execution's own pending writes on top; writes are only kept, checked at
 * once (key, value, size), and committed by the caller when the execution ends well (`writes`).
 */
export interface KvSession {
  readonly calls: HostCalls
  /** The writes to commit, in the order the script made them. */
  readonly writes: () => ReadonlyArray<KvWrite>
  /** How many reads (`get`, `getEntry`, `list`) and writes (`set`, `delete`) the script made. */
  readonly counts: () => { readonly reads: number; readonly writes: number }
}

type Pending = { readonly value: Schema.Json; readonly version: number } | null

/** A key's entry after its pending writes, from its stored entry (`null`: absent), as a commit would leave it. */
const afterWrites = (base: Pending, writes: ReadonlyArray<KvWrite>): Pending =>
  writes.reduce<Pending>(
    (entry, write) => (write.op === "set" ? { value: write.value, version: (entry?.version ?? 0) + 1 } : null),
    base
  )

/** Room in a call's arguments beside the value: a 512-byte key (escaped: up to 6 characters a byte) and options. */
const KEY_AND_OPTIONS_ROOM = 4096

const refused = (kind: string, message: string) => new HostCallFailed({ kind, message })

/** The script's arguments, read from the JSON the prelude sent (untrusted: any shape). */
const argumentsOf = (op: string, payload: string) => {
  try {
    const args: unknown = JSON.parse(payload)
    if (typeof args === "object" && args !== null && !Array.isArray(args)) {
      return Effect.succeed(args as Record<string, unknown>)
    }
  } catch {
    // Refused below.
  }
  return Effect.fail(refused("TypeError", `${op}: malformed arguments`))
}

const keyOf = (op: string, args: Record<string, unknown>) =>
  typeof args.key === "string"
    ? Effect.succeed(args.key)
    : Effect.fail(refused("TypeError", `${op}: the key must be a string, got ${typeof args.key}`))

const ifVersionOf = (op: string, args: Record<string, unknown>) => {
  const v = args.ifVersion
  return v === undefined || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0)
    ? Effect.succeed(v as number | undefined)
    : Effect.fail(refused("TypeError", `${op}: ifVersion must be a whole number >= 0 (0: the key must not exist)`))
}

const optionalString = (op: string, args: Record<string, unknown>, name: string) => {
  const v = args[name]
  return v === undefined || typeof v === "string"
    ? Effect.succeed(v as string | undefined)
    : Effect.fail(refused("TypeError", `${op}: ${name} must be a string`))
}

/** The store's errors as the script sees them: its own mistakes by name, the platform's as `KvUnavailable`. */
const toGuest =
  (op: string) => (error: KvKeyInvalid | KvValueInvalid | KvValueTooLarge | InvalidCursor | PersistenceError) => {
    switch (error._tag) {
      case "KvKeyInvalid":
        return refused("KvKeyInvalid", `${op}: the key ${JSON.stringify(error.key)} ${error.reason}`)
      case "KvValueInvalid":
        return refused("KvValueInvalid", `${op}: the value of ${JSON.stringify(error.key)} ${error.reason}`)
      case "KvValueTooLarge":
        return refused(
          "KvValueTooLarge",
          `${op}: the value of ${
            JSON.stringify(error.key)
          } is ${error.bytes} bytes as JSON, over the ${error.limit} limit`
        )
      case "InvalidCursor":
        return refused("KvCursorInvalid", `${op}: the cursor is not one kv.list gave`)
      case "PersistenceError":
        return refused("KvUnavailable", `${op}: the key-value store is unavailable, try again later`)
    }
  }

/** A new session on `appId`'s store: the app comes from the execution, never from the script. */
export const makeKvSession = (store: KvStore["Service"], appId: string, limits: KvSessionLimits): KvSession => {
  const writes: Array<KvWrite> = []
  /** Each written key's writes, in order. */
  const byKey = new Map<string, Array<KvWrite>>()
  let reads = 0
  let pendingBytes = 0

  /** Counts one call against the cap, refusing it past the cap. */
  const counted = (op: string) =>
    Effect.suspend(() => {
      if (reads + writes.length >= limits.maxOps) {
        return Effect.fail(
          refused(
            "KvLimitExceeded",
            `${op}: this execution made its ${limits.maxOps} key-value calls (PICLOUD_KV_MAX_OPS)`
          )
        )
      }
      return Effect.void
    })

  const stored = (key: string) =>
    store.get(appId, key).pipe(
      Effect.map((found): Pending =>
        Option.match(found, { onNone: () => null, onSome: ({ value, version }) => ({ value, version }) })
      )
    )

  const get = (op: string, args: Record<string, unknown>, withVersion: boolean) =>
    Effect.gen(function*() {
      const key = yield* keyOf(op, args)
      yield* checkKey(key)
      reads++
      const own = byKey.get(key)
      // Its own last write answers a plain get without a read.
      if (own !== undefined && !withVersion) return afterWrites(null, own.slice(-1))
      return own === undefined ? yield* stored(key) : afterWrites(yield* stored(key), own)
    }).pipe(
      Effect.map((entry) => JSON.stringify(withVersion ? entry : entry?.value ?? null))
    )

  const list = (op: string, args: Record<string, unknown>) =>
    Effect.gen(function*() {
      const prefix = (yield* optionalString(op, args, "prefix")) ?? ""
      const cursor = yield* optionalString(op, args, "cursor")
      const rawLimit = args.limit
      if (rawLimit !== undefined && (typeof rawLimit !== "number" || !Number.isSafeInteger(rawLimit) || rawLimit < 1)) {
        return yield* refused("TypeError", `${op}: limit must be a whole number >= 1`)
      }
      const limit = Math.min((rawLimit as number | undefined) ?? KV_DEFAULT_PAGE, KV_MAX_PAGE)
      reads++
      const page = yield* store.list(appId, { prefix, limit, cursor })
      const own = [...byKey.keys()].filter((key) => key.startsWith(prefix))
      if (own.length === 0) {
        return { items: page.items.map(({ key, value, version }) => ({ key, value, version })), cursor: page.cursor }
      }
      // The page covers the keys after the cursor up to its last item (to the end when it is the
      // last page): the execution's own written keys in that range go on top of it.
      const after = yield* kvPageStart(cursor)
      const last = page.cursor === null ? undefined : page.items.at(-1)?.key
      const inRange = (key: string) =>
        (Option.isNone(after) || compareKeys(key, after.value) > 0) &&
        (last === undefined || compareKeys(key, last) <= 0)
      const base = new Map(page.items.map((item) => [item.key, { value: item.value, version: item.version }]))
      const keys = [...new Set([...base.keys(), ...own.filter(inRange)])].sort(compareKeys)
      const items = keys.flatMap((key) => {
        const writesOfKey = byKey.get(key)
        const entry = writesOfKey === undefined ? base.get(key)! : afterWrites(base.get(key) ?? null, writesOfKey)
        return entry === null ? [] : [{ key, value: entry.value, version: entry.version }]
      })
      return items.length > limit
        ? { items: items.slice(0, limit), cursor: encodeKvCursor(items[limit - 1]!.key) }
        : { items, cursor: page.cursor }
    }).pipe(Effect.map((page) => JSON.stringify(page)))

  const write = (op: "set" | "delete", args: Record<string, unknown>) =>
    Effect.gen(function*() {
      const key = yield* keyOf(`kv.${op}`, args)
      const ifVersion = yield* ifVersionOf(`kv.${op}`, args)
      if (op === "set" && typeof args.json !== "string") {
        return yield* refused("TypeError", "kv.set: the value is missing")
      }
      // The prelude sent the value as `JSON.stringify` made it: valid JSON text.
      const candidate: KvWrite = op === "set"
        ? { op, key, value: JSON.parse(args.json as string) as Schema.Json, ifVersion }
        : { op, key, ifVersion }
      const [checked] = yield* checkWrites([candidate], limits.maxValueBytes)
      const bytes = utf8Bytes(key) + (checked!.op === "set" ? utf8Bytes(checked!.json) : 0)
      if (pendingBytes + bytes > limits.maxPendingBytes) {
        return yield* refused(
          "KvLimitExceeded",
          `kv.${op}: this execution's pending writes would pass ${limits.maxPendingBytes} bytes (PICLOUD_KV_MAX_PENDING_BYTES)`
        )
      }
      pendingBytes += bytes
      writes.push(candidate)
      byKey.set(key, [...(byKey.get(key) ?? []), candidate])
      return "null"
    })

  const calls: HostCalls = (op, payload) =>
    Effect.gen(function*() {
      yield* counted(op)
      // A value's JSON text is at least as many UTF-8 bytes as it has characters: one far past the
      // limit is refused before the main thread spends time parsing it.
      if (payload.length > limits.maxValueBytes + KEY_AND_OPTIONS_ROOM) {
        return yield* refused(
          "KvValueTooLarge",
          `${op}: the arguments are over ${limits.maxValueBytes} bytes as JSON (PICLOUD_KV_MAX_VALUE_BYTES)`
        )
      }
      const args = yield* argumentsOf(op, payload)
      switch (op) {
        case "kv.get":
          return yield* get(op, args, false)
        case "kv.getEntry":
          return yield* get(op, args, true)
        case "kv.list":
          return yield* list(op, args)
        case "kv.set":
          return yield* write("set", args)
        case "kv.delete":
          return yield* write("delete", args)
        default:
          return yield* refused("TypeError", `${op} is not a platform call`)
      }
    }).pipe(Effect.mapError((error) => (error instanceof HostCallFailed ? error : toGuest(op)(error))))

  return {
    calls,
    writes: () => writes,
    counts: () => ({ reads, writes: writes.length })
  }
}
