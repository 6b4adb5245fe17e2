import { Effect, Layer, Option } from "effect"
import * as Settings from "../config/Settings.ts"
import {
  checkKey,
  checkWrites,
  clampLimit,
  compareKeys,
  keyOrder,
  type KvChange,
  KvConflict,
  type KvEntry,
  KvStore
} from "../domain/KvStore.ts"
import { kvPage, kvPageStart } from "./kvCursor.ts"

/**
 * Each app's keys in memory. A commit runs synchronously, so it is atomic by construction: every
 * `ifVersion` is checked against the batch's pending writes, applied only when all hold.
 */
export const layer = Layer.effect(
  KvStore,
  Effect.gen(function*() {
    const maxValueBytes = yield* Settings.kvMaxValueBytes.config
    const apps = new Map<string, Map<string, KvEntry>>()
    const of = (appId: string) => apps.get(appId) ?? new Map<string, KvEntry>()
    // Values are kept as their JSON text's parse: a caller mutating what it wrote or read later
    // cannot change what is stored.
    const copy = (entry: KvEntry): KvEntry => ({ ...entry, value: JSON.parse(JSON.stringify(entry.value)) })

    return KvStore.of({
      get: Effect.fn("KvStore.get")(function*(appId, key) {
        yield* checkKey(key)
        return Option.map(Option.fromNullishOr(of(appId).get(key)), copy)
      }),
      list: Effect.fn("KvStore.list")(function*(appId, options) {
        const prefix = options.prefix ?? ""
        if (prefix !== "") yield* checkKey(prefix)
        const after = yield* kvPageStart(options.cursor)
        const limit = clampLimit(options.limit)
        const keys = [...of(appId).keys()]
          .filter((key) => key.startsWith(prefix) && (Option.isNone(after) || compareKeys(key, after.value) > 0))
          .sort(compareKeys)
        return kvPage(keys.slice(0, limit + 1).map((key) => ({ key, ...copy(of(appId).get(key)!) })), limit)
      }),
      commit: Effect.fn("KvStore.commit")(function*(appId, writes) {
        const checked = yield* checkWrites(writes, maxValueBytes)
        const stored = of(appId)
        // The batch's writes so far (`undefined`: deleted), applied to the store only when all hold.
        const pending = new Map<string, KvEntry | undefined>()
        const changes: Array<KvChange> = new Array(checked.length)
        const now = new Date().toISOString()
        // Key order, as on PostgreSQL, so both report the same conflict first.
        for (const i of keyOrder(checked)) {
          const write = checked[i]!
          const current = pending.has(write.key) ? pending.get(write.key) : stored.get(write.key)
          const actual = current?.version ?? 0
          if (write.ifVersion !== undefined && write.ifVersion !== actual) {
            return yield* new KvConflict({ key: write.key, expected: write.ifVersion, actual })
          }
          const old = { old_value: current?.value ?? null, old_version: actual }
          if (write.op === "set") {
            const entry = { value: JSON.parse(write.json), version: actual + 1, updated_at: now }
            pending.set(write.key, entry)
            changes[i] = { op: "set", key: write.key, ...old, ...copy(entry) }
          } else {
            pending.set(write.key, undefined)
            changes[i] = { op: "delete", key: write.key, ...old, value: null, version: 0, updated_at: null }
          }
        }
        for (const [key, entry] of pending) {
          if (entry === undefined) stored.delete(key)
          else stored.set(key, entry)
        }
        apps.set(appId, stored)
        return changes
      }),
      dropApp: Effect.fn("KvStore.dropApp")(function*(appId) {
        apps.delete(appId)
      })
    })
  })
)
