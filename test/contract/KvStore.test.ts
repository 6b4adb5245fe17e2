import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import { KV_MAX_DEPTH, KvStore, type KvWrite } from "../../src/domain/KvStore.ts"
import * as AppRepoMemory from "../../src/manager/AppRepoMemory.ts"
import * as AppRepoSql from "../../src/manager/AppRepoSql.ts"
import * as KvStoreMemory from "../../src/manager/KvStoreMemory.ts"
import * as KvStoreSql from "../../src/manager/KvStoreSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
/** A fresh app per test, so tests share a database without seeing each other's keys. */
const freshApp = Effect.gen(function*() {
  return (yield* (yield* AppRepo).create({ name: `kv-${Date.now().toString(36)}-${counter++}` })).id
})

/** A small value limit keeps the size tests cheap. */
const MAX_VALUE_BYTES = 1024
const config = ConfigProvider.layer(
  ConfigProvider.fromUnknown({ PICLOUD_KV_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES) })
)

const set = (key: string, value: unknown, ifVersion?: number): KvWrite =>
  ifVersion === undefined
    ? { op: "set", key, value: value as never }
    : { op: "set", key, value: value as never, ifVersion }
const del = (key: string, ifVersion?: number): KvWrite =>
  ifVersion === undefined ? { op: "delete", key } : { op: "delete", key, ifVersion }

const contract = (name: string, storeLayer: Layer.Layer<KvStore | AppRepo, unknown>) =>
  layer(storeLayer, { timeout: "60 seconds" })(`KvStore (${name})`, (it) => {
    it.effect("set creates at version 1 and every write adds 1; get reads; delete removes; recreating starts again", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        assert.isTrue(Option.isNone(yield* kv.get(app, "k")))
        const [created] = yield* kv.commit(app, [set("k", { n: 1 })])
        assert.deepInclude(created, {
          op: "set",
          key: "k",
          value: { n: 1 },
          old_value: null,
          version: 1,
          old_version: 0
        })
        assert.isFalse(Number.isNaN(Date.parse(created!.updated_at!)))
        const [updated] = yield* kv.commit(app, [set("k", [1, "two"])])
        assert.deepInclude(updated, { value: [1, "two"], old_value: { n: 1 }, version: 2, old_version: 1 })
        const entry = Option.getOrThrow(yield* kv.get(app, "k"))
        assert.deepStrictEqual(entry, { value: [1, "two"], version: 2, updated_at: updated!.updated_at! })
        const [deleted] = yield* kv.commit(app, [del("k")])
        assert.deepStrictEqual(deleted, {
          op: "delete",
          key: "k",
          value: null,
          old_value: [1, "two"],
          version: 0,
          old_version: 2,
          updated_at: null
        })
        assert.isTrue(Option.isNone(yield* kv.get(app, "k")))
        const [absent] = yield* kv.commit(app, [del("k")])
        assert.deepInclude(absent, { old_version: 0, version: 0 }, "a delete of an absent key changes nothing")
        assert.strictEqual((yield* kv.commit(app, [set("k", 3)]))[0]!.version, 1)
      }))

    it.effect("dropApp removes every key of that app, and only of that app", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        const other = yield* freshApp
        yield* kv.commit(app, [set("a", 1), set("b/c", 2)])
        yield* kv.commit(other, [set("a", 3)])
        yield* kv.dropApp(app)
        assert.deepStrictEqual((yield* kv.list(app, { limit: 10 })).items, [])
        assert.isTrue(Option.isNone(yield* kv.get(app, "a")))
        assert.deepInclude(Option.getOrThrow(yield* kv.get(other, "a")), { value: 3, version: 1 })
      }))

    it.effect("any JSON value is stored as it is: object, array, string, number, boolean, null", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        const values = [{ a: { b: [1, null] }, "é": "ü" }, [], "text \u00e9 😀", -1.5, 0, true, false, null]
        yield* kv.commit(app, values.map((value, i) => set(`v${i}`, value)))
        for (const [i, value] of values.entries()) {
          assert.deepStrictEqual(Option.getOrThrow(yield* kv.get(app, `v${i}`)).value, value)
        }
        const read = Option.getOrThrow(yield* kv.get(app, "v0")).value as { a: { b: Array<unknown> } }
        read.a.b.push("mutated")
        assert.deepStrictEqual(Option.getOrThrow(yield* kv.get(app, "v0")).value, values[0], "reads are copies")
      }))

    it.effect("ifVersion: 0 means absent; a mismatch is a KvConflict naming the key and both versions", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        assert.strictEqual((yield* kv.commit(app, [set("c", 1, 0)]))[0]!.version, 1)
        const taken = yield* kv.commit(app, [set("c", 2, 0)]).pipe(Effect.flip)
        assert.deepInclude(taken, { _tag: "KvConflict", key: "c", expected: 0, actual: 1 })
        const stale = yield* kv.commit(app, [set("c", 2, 7)]).pipe(Effect.flip)
        assert.deepInclude(stale, { _tag: "KvConflict", key: "c", expected: 7, actual: 1 })
        assert.strictEqual((yield* kv.commit(app, [set("c", 2, 1)]))[0]!.version, 2)
        const staleDelete = yield* kv.commit(app, [del("c", 1)]).pipe(Effect.flip)
        assert.deepInclude(staleDelete, { _tag: "KvConflict", key: "c", expected: 1, actual: 2 })
        assert.strictEqual((yield* kv.commit(app, [del("c", 2)]))[0]!.old_version, 2)
        const gone = yield* kv.commit(app, [del("c", 2)]).pipe(Effect.flip)
        assert.deepInclude(gone, { _tag: "KvConflict", key: "c", expected: 2, actual: 0 })
        assert.strictEqual((yield* kv.commit(app, [del("c", 0)]))[0]!.old_version, 0)
      }))

    it.effect("a batch applies in order, all or nothing, and reports each write in the order given", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        const changes = yield* kv.commit(app, [set("z", 1), set("a", 1, 0), set("z", 2, 1), del("a", 1), set("m", 0)])
        assert.deepStrictEqual(
          changes.map((c) => [c.op, c.key, c.value, c.version, c.old_version]),
          [["set", "z", 1, 1, 0], ["set", "a", 1, 1, 0], ["set", "z", 2, 2, 1], ["delete", "a", null, 0, 1], [
            "set",
            "m",
            0,
            1,
            0
          ]]
        )
        const conflict = yield* kv.commit(app, [set("z", "lost"), set("new", "lost"), set("m", "lost", 5)]).pipe(
          Effect.flip
        )
        assert.deepInclude(conflict, { _tag: "KvConflict", key: "m", expected: 5, actual: 1 })
        assert.strictEqual(Option.getOrThrow(yield* kv.get(app, "z")).value, 2, "nothing of a failed batch is applied")
        assert.isTrue(Option.isNone(yield* kv.get(app, "new")))
      }))

    it.effect("keys are 1-512 UTF-8 bytes of storable text; anything else is KvKeyInvalid", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        const longest = "é".repeat(256)
        assert.strictEqual((yield* kv.commit(app, [set(longest, 1)]))[0]!.version, 1)
        for (const key of ["", "x".repeat(513), "€".repeat(171), "a\u0000b", "a\ud800"]) {
          const refused = yield* kv.commit(app, [set("fine", 1), set(key, 1)]).pipe(Effect.flip)
          assert.deepInclude(refused, { _tag: "KvKeyInvalid", key }, JSON.stringify(key))
          assert.strictEqual((yield* kv.get(app, key).pipe(Effect.flip))._tag, "KvKeyInvalid")
          assert.strictEqual((yield* kv.commit(app, [del(key)]).pipe(Effect.flip))._tag, "KvKeyInvalid")
        }
        assert.isTrue(Option.isNone(yield* kv.get(app, "fine")), "a refused batch writes nothing")
      }))

    it.effect("values: NUL or a lone surrogate anywhere, or nesting too deep, is KvValueInvalid; over the limit KvValueTooLarge", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        for (const value of ["a\u0000", { deep: ["\udc00"] }, { ["k\u0000"]: 1 }, { ["\ud83d"]: 1 }]) {
          const refused = yield* kv.commit(app, [set("v", value)]).pipe(Effect.flip)
          assert.deepInclude(refused, { _tag: "KvValueInvalid", key: "v" }, JSON.stringify(value))
        }
        let deep: unknown = 1
        for (let i = 0; i < KV_MAX_DEPTH; i++) deep = [deep]
        assert.strictEqual((yield* kv.commit(app, [set("deep", deep)]))[0]!.version, 1)
        const tooDeep = yield* kv.commit(app, [set("deep", [deep])]).pipe(Effect.flip)
        assert.strictEqual(tooDeep._tag, "KvValueInvalid")
        let veryDeep: unknown = 1
        for (let i = 0; i < 100_000; i++) veryDeep = [veryDeep]
        assert.strictEqual((yield* kv.commit(app, [set("deep", veryDeep)]).pipe(Effect.flip))._tag, "KvValueInvalid")

        // The limit counts the value's JSON in UTF-8 bytes: a string of n bytes is n + 2 with its quotes.
        const atLimit = "é".repeat((MAX_VALUE_BYTES - 2) / 2)
        assert.strictEqual((yield* kv.commit(app, [set("big", atLimit)]))[0]!.version, 1)
        const over = yield* kv.commit(app, [set("big", `${atLimit}x`)]).pipe(Effect.flip)
        assert.deepInclude(over, {
          _tag: "KvValueTooLarge",
          key: "big",
          bytes: MAX_VALUE_BYTES + 1,
          limit: MAX_VALUE_BYTES
        })
        assert.strictEqual(Option.getOrThrow(yield* kv.get(app, "big")).version, 1)
      }))

    it.effect("list: by prefix, in UTF-8 byte order, a page at a time with an opaque cursor", () =>
      Effect.gen(function*() {
        const kv = yield* KvStore
        const app = yield* freshApp
        const other = yield* freshApp
        // Code point order: "z" < "é" < U+FFFD < "😀" (UTF-16 order would put the emoji first).
        const keys = ["a/😀", "a/\ufffd", "a/é", "a/z", "a/b/c", "a/b", "a", "b", "a0"]
        yield* kv.commit(app, keys.map((key, i) => set(key, i)))
        yield* kv.commit(other, [set("a/other", 1)])
        const inPrefix = ["a/b", "a/b/c", "a/z", "a/é", "a/\ufffd", "a/😀"]
        const first = yield* kv.list(app, { prefix: "a/", limit: 4 })
        assert.deepStrictEqual(first.items.map((i) => i.key), inPrefix.slice(0, 4))
        assert.deepInclude(first.items[0], { key: "a/b", value: 5, version: 1 })
        assert.isString(first.cursor)
        const second = yield* kv.list(app, { prefix: "a/", limit: 4, cursor: first.cursor! })
        assert.deepStrictEqual(second.items.map((i) => i.key), inPrefix.slice(4))
        assert.isNull(second.cursor)
        const exact = yield* kv.list(app, { prefix: "a/", limit: 6 })
        assert.strictEqual(exact.items.length, 6)
        assert.isNull(exact.cursor, "no cursor when the page ends the listing")
        const all = yield* kv.list(app, { limit: 100 })
        assert.deepStrictEqual(all.items.map((i) => i.key), [
          "a",
          "a/b",
          "a/b/c",
          "a/z",
          "a/é",
          "a/\ufffd",
          "a/😀",
          "a0",
          "b"
        ])
        assert.deepStrictEqual((yield* kv.list(app, { prefix: "nothing", limit: 10 })).items, [])
        assert.strictEqual((yield* kv.list(app, { limit: 1_000 })).items.length, 9, "the limit is clamped")
        const bad = yield* kv.list(app, { limit: 10, cursor: "not a cursor!" }).pipe(Effect.flip)
        assert.strictEqual(bad._tag, "InvalidCursor")
        assert.strictEqual(
          (yield* kv.list(app, { prefix: "a\u0000", limit: 10 }).pipe(Effect.flip))._tag,
          "KvKeyInvalid"
        )
      }))
  })

contract("memory", Layer.mergeAll(KvStoreMemory.layer, AppRepoMemory.layer).pipe(Layer.provide(config)))

const sqlLayer = Layer.mergeAll(KvStoreSql.layer, AppRepoSql.layer).pipe(
  Layer.provide(config),
  Layer.provideMerge(TestDatabase)
)
contract("sql", sqlLayer)

layer(sqlLayer, { timeout: "120 seconds" })("KvStore (sql) under concurrency", (it) => {
  /** Read, then write the next number under `ifVersion`; on a conflict, read again. */
  const increment = (app: string, key: string) =>
    Effect.gen(function*() {
      const kv = yield* KvStore
      const current = yield* kv.get(app, key)
      const [version, n] = Option.match(current, {
        onNone: () => [0, 0],
        onSome: (entry) => [entry.version, entry.value as number]
      })
      yield* kv.commit(app, [set(key, n + 1, version)])
    }).pipe(
      Effect.retry({ while: (error) => error._tag === "KvConflict" })
    )

  it.effect("100 concurrent increments under ifVersion retries end at exactly 100", () =>
    Effect.gen(function*() {
      const kv = yield* KvStore
      const app = yield* freshApp
      yield* Effect.forEach(Array.from({ length: 100 }), () => increment(app, "counter"), { concurrency: 20 })
      const entry = Option.getOrThrow(yield* kv.get(app, "counter"))
      assert.deepInclude(entry, { value: 100, version: 100 })
    }))

  it.effect("blind writes to one key never lose a version; concurrent creates with ifVersion 0: exactly one wins", () =>
    Effect.gen(function*() {
      const kv = yield* KvStore
      const app = yield* freshApp
      const changes = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) => kv.commit(app, [set("blind", i)]).pipe(Effect.map(([change]) => change!)),
        { concurrency: 10 }
      )
      const versions = changes.map((change) => change.version)
      assert.deepStrictEqual([...versions].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1))
      // Each reports the write it replaced: the creation none, every other the one just before it.
      const byVersion = new Map(changes.map((change) => [change.version, change]))
      for (const change of changes) {
        assert.strictEqual(change.old_version, change.version - 1)
        assert.deepStrictEqual(change.old_value, change.version === 1 ? null : byVersion.get(change.version - 1)!.value)
      }
      const creates = yield* Effect.forEach(
        Array.from({ length: 10 }),
        () => kv.commit(app, [set("once", "mine", 0)]).pipe(Effect.result),
        { concurrency: 10 }
      )
      assert.strictEqual(creates.filter((r) => r._tag === "Success").length, 1)
      for (const r of creates) if (r._tag === "Failure") assert.strictEqual(r.failure._tag, "KvConflict")
    }))

  it.effect("batches over the same keys in opposite orders do not deadlock", () =>
    Effect.gen(function*() {
      const kv = yield* KvStore
      const app = yield* freshApp
      yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => kv.commit(app, i % 2 === 0 ? [set("x", i), set("y", i)] : [set("y", i), set("x", i)]),
        { concurrency: 10 }
      )
      assert.strictEqual(Option.getOrThrow(yield* kv.get(app, "x")).version, 30)
      assert.strictEqual(Option.getOrThrow(yield* kv.get(app, "y")).version, 30)
    }))

  it.effect("deleting an app deletes its keys", () =>
    Effect.gen(function*() {
      const kv = yield* KvStore
      const sql = yield* SqlClient.SqlClient
      const app = yield* freshApp
      yield* kv.commit(app, [set("a", 1), set("b", 2)])
      yield* (yield* AppRepo).delete(app)
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM kv WHERE app_id = ${app}`
      assert.strictEqual(rows[0]!.n, 0)
    }))

  it.effect("a commit inside an open transaction is rolled back with it (where trigger rows will join)", () =>
    Effect.gen(function*() {
      const kv = yield* KvStore
      const sql = yield* SqlClient.SqlClient
      const app = yield* freshApp
      const failed = yield* kv.commit(app, [set("joined", 1)]).pipe(
        Effect.andThen(Effect.fail("later step failed")),
        sql.withTransaction,
        Effect.flip
      )
      assert.strictEqual(failed, "later step failed")
      assert.isTrue(Option.isNone(yield* kv.get(app, "joined")))
    }))
})
