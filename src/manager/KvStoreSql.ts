import { type Cause, Effect, Layer, Option, Schema, SchemaTransformation } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import * as Settings from "../config/Settings.ts"
import { byUuid, persistence, Timestamp } from "../db/persistence.ts"
import {
  type CheckedWrite,
  checkKey,
  checkWrites,
  clampLimit,
  keyOrder,
  type KvChange,
  KvConflict,
  KvEntry,
  KvItem,
  KvStore
} from "../domain/KvStore.ts"
import { kvPage, kvPageStart } from "./kvCursor.ts"

/** `version` is a bigint column (a hot counter may pass 2^31 writes), which the driver hands over as a bigint. */
const Version = Schema.Union([Schema.Int, Schema.BigInt]).pipe(
  Schema.decodeTo(
    Schema.Int,
    SchemaTransformation.transform<number, number | bigint>({ decode: Number, encode: (n) => n })
  )
)

const EntryRow = Schema.Struct({ ...KvEntry.fields, version: Version, updated_at: Timestamp })
const ItemRow = Schema.Struct({ ...KvItem.fields, version: Version, updated_at: Timestamp })
const WrittenRow = Schema.Struct({ version: Version, updated_at: Timestamp })
const KeyRequest = Schema.Struct({ appId: Schema.String, key: Schema.String })
const SetRequest = Schema.Struct({ appId: Schema.String, key: Schema.String, json: Schema.String })

/**
 * The least string above every string that starts with `prefix` in code point order (UTF-8 byte
 * order, `COLLATE "C"`), or `undefined` when there is none: with it a prefix is an index range.
 */
const prefixEnd = (prefix: string) => {
  const points = [...prefix]
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!
    if (last < 0x10ffff) return points.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1)
  }
  return undefined
}

/**
 * Each app's keys in PostgreSQL (`kv`). A commit is one transaction (the caller's, when one is
 * open) that locks each key's row (`FOR UPDATE`) before checking its version, so concurrent commits
 * on a key serialize and none loses an update; a key that is absent is inserted with
 * `ON CONFLICT DO NOTHING`, and a commit that lost that race reads the winner's row and checks
 * again. Keys are taken in key order, so two commits cannot deadlock. A lone write without
 * `ifVersion` is one statement (see `applyAlone`).
 */
export const layer = Layer.effect(
  KvStore,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const maxValueBytes = yield* Settings.kvMaxValueBytes.config

    const findEntry = SqlSchema.findOneOption({
      Request: KeyRequest,
      Result: EntryRow,
      execute: ({ appId, key }) =>
        sql`SELECT value, version, updated_at FROM kv WHERE app_id = ${appId} AND key = ${key}`
    })
    const lockEntry = SqlSchema.findOneOption({
      Request: KeyRequest,
      Result: EntryRow,
      execute: ({ appId, key }) =>
        sql`SELECT value, version, updated_at FROM kv WHERE app_id = ${appId} AND key = ${key} FOR UPDATE`
    })
    const listItems = SqlSchema.findAll({
      Request: Schema.Struct({
        appId: Schema.String,
        from: Schema.String,
        after: Schema.NullOr(Schema.String),
        end: Schema.NullOr(Schema.String),
        take: Schema.Int
      }),
      Result: ItemRow,
      execute: ({ after, appId, end, from, take }) =>
        sql`
          SELECT key, value, version, updated_at FROM kv
          WHERE app_id = ${appId} AND key >= ${from}
            ${after === null ? sql`` : sql`AND key > ${after}`}
            ${end === null ? sql`` : sql`AND key < ${end}`}
          ORDER BY key LIMIT ${take}`
    })
    const update = SqlSchema.findOne({
      Request: SetRequest,
      Result: WrittenRow,
      execute: ({ appId, json, key }) =>
        sql`
          UPDATE kv SET value = ${json}::jsonb, version = version + 1, updated_at = now()
          WHERE app_id = ${appId} AND key = ${key}
          RETURNING version, updated_at`
    })
    const insert = SqlSchema.findOneOption({
      Request: SetRequest,
      Result: WrittenRow,
      execute: ({ appId, json, key }) =>
        sql`
          INSERT INTO kv (app_id, key, value, version) VALUES (${appId}, ${key}, ${json}::jsonb, 1)
          ON CONFLICT (app_id, key) DO NOTHING
          RETURNING version, updated_at`
    })
    const remove = SqlSchema.void({
      Request: KeyRequest,
      execute: ({ appId, key }) => sql`DELETE FROM kv WHERE app_id = ${appId} AND key = ${key}`
    })
    /** Replaces an existing key's value in one statement, answering what it held before (none: absent). */
    const replace = SqlSchema.findOneOption({
      Request: SetRequest,
      Result: Schema.Struct({ ...WrittenRow.fields, old_value: Schema.Json, old_version: Version }),
      execute: ({ appId, json, key }) =>
        sql`
          UPDATE kv SET value = ${json}::jsonb, version = kv.version + 1, updated_at = now()
          FROM (SELECT value, version FROM kv WHERE app_id = ${appId} AND key = ${key} FOR UPDATE) AS old
          WHERE kv.app_id = ${appId} AND kv.key = ${key}
          RETURNING kv.version, kv.updated_at, old.value AS old_value, old.version AS old_version`
    })
    /** Deletes a key in one statement, answering what it held (none: absent). */
    const removeReturning = SqlSchema.findOneOption({
      Request: KeyRequest,
      Result: Schema.Struct({ value: Schema.Json, version: Version }),
      execute: ({ appId, key }) => sql`DELETE FROM kv WHERE app_id = ${appId} AND key = ${key} RETURNING value, version`
    })

    /** One write, its key's row locked (or, for a key that is absent, inserted or found inserted). */
    const apply = (
      appId: string,
      write: CheckedWrite
    ): Effect.Effect<KvChange, KvConflict | SqlError | Schema.SchemaError | Cause.NoSuchElementError> =>
      Effect.gen(function*() {
        const current = yield* lockEntry({ appId, key: write.key })
        const actual = Option.isSome(current) ? current.value.version : 0
        if (write.ifVersion !== undefined && write.ifVersion !== actual) {
          return yield* new KvConflict({ key: write.key, expected: write.ifVersion, actual })
        }
        const old = { old_value: Option.isSome(current) ? current.value.value : null, old_version: actual }
        if (write.op === "delete") {
          if (Option.isSome(current)) yield* remove({ appId, key: write.key })
          return { op: "delete", key: write.key, ...old, value: null, version: 0, updated_at: null }
        }
        const request = { appId, key: write.key, json: write.json }
        const written = Option.isSome(current) ? Option.some(yield* update(request)) : yield* insert(request)
        // Absent when locked, inserted since by a commit that has now committed: check against it.
        if (Option.isNone(written)) return yield* apply(appId, write)
        return { op: "set", key: write.key, ...old, value: JSON.parse(write.json), ...written.value }
      })

    /**
     * A write without `ifVersion` in one statement, atomic by itself (the hot path of a script's
     * single `kv.set`): a delete answers what it removed; a set replaces the row if there is one,
     * else inserts it, and if another commit inserted it meanwhile, replaces that.
     */
    const applyAlone = (
      appId: string,
      write: CheckedWrite
    ): Effect.Effect<KvChange, SqlError | Schema.SchemaError> =>
      Effect.gen(function*() {
        if (write.op === "delete") {
          const removed = yield* removeReturning({ appId, key: write.key })
          return {
            op: "delete",
            key: write.key,
            value: null,
            version: 0,
            updated_at: null,
            old_value: Option.isSome(removed) ? removed.value.value : null,
            old_version: Option.isSome(removed) ? removed.value.version : 0
          }
        }
        const request = { appId, key: write.key, json: write.json }
        const replaced = yield* replace(request)
        if (Option.isSome(replaced)) {
          const { old_value, old_version, updated_at, version } = replaced.value
          return {
            op: "set",
            key: write.key,
            value: JSON.parse(write.json),
            old_value,
            old_version,
            version,
            updated_at
          }
        }
        const inserted = yield* insert(request)
        if (Option.isNone(inserted)) return yield* applyAlone(appId, write)
        return {
          op: "set",
          key: write.key,
          value: JSON.parse(write.json),
          old_value: null,
          old_version: 0,
          ...inserted.value
        }
      })

    const applyAll = (appId: string, checked: ReadonlyArray<CheckedWrite>) =>
      Effect.gen(function*() {
        const changes: Array<KvChange> = new Array(checked.length)
        for (const i of keyOrder(checked)) changes[i] = yield* apply(appId, checked[i]!)
        return changes
      })

    /**
     * In the caller's transaction when one is open (its failure must roll that back, as
     * `Transactions.atomically` does), so a commit and its trigger rows cost no savepoint; else
     * one statement for a lone write without `ifVersion`, or a transaction of its own.
     */
    const commitChecked = Effect.fn("KvStore.commit")(
      function*(appId: string, checked: ReadonlyArray<CheckedWrite>) {
        if (checked.length === 1 && checked[0]!.ifVersion === undefined) {
          return [yield* applyAlone(appId, checked[0]!)]
        }
        const open = Option.isSome(yield* Effect.serviceOption(sql.transactionService))
        return yield* (open ? applyAll(appId, checked) : sql.withTransaction(applyAll(appId, checked)))
      },
      persistence("KvStore.commit")
    )

    return KvStore.of({
      get: Effect.fn("KvStore.get")(function*(appId, key) {
        yield* checkKey(key)
        return yield* byUuid(appId, (appId) => findEntry({ appId, key }), Option.none()).pipe(
          persistence("KvStore.get")
        )
      }),
      list: Effect.fn("KvStore.list")(function*(appId, options) {
        const prefix = options.prefix ?? ""
        if (prefix !== "") yield* checkKey(prefix)
        const after = yield* kvPageStart(options.cursor)
        const limit = clampLimit(options.limit)
        const rows = yield* byUuid(appId, (appId) =>
          listItems({
            appId,
            from: prefix,
            after: Option.getOrNull(after),
            end: prefixEnd(prefix) ?? null,
            take: limit + 1
          }), []).pipe(persistence("KvStore.list"))
        return kvPage(rows, limit)
      }),
      commit: (appId, writes) =>
        checkWrites(writes, maxValueBytes).pipe(
          Effect.flatMap((checked) => (checked.length === 0 ? Effect.succeed([]) : commitChecked(appId, checked)))
        ),
      // The app's row cascades to its keys as well; this says so where the deletion is decided.
      dropApp: Effect.fn("KvStore.dropApp")(function*(appId) {
        yield* sql`DELETE FROM kv WHERE app_id = ${appId}`.pipe(persistence("KvStore.dropApp"))
      })
    })
  })
)
