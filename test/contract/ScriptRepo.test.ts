import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { DEFAULT_APP_ID } from "../../src/domain/App.ts"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import type { ScriptId } from "../../src/domain/Ids.ts"
import { ScriptRepo } from "../../src/domain/ScriptRepo.ts"
import * as AppRepoMemory from "../../src/manager/AppRepoMemory.ts"
import * as AppRepoSql from "../../src/manager/AppRepoSql.ts"
import * as ScriptRepoMemory from "../../src/manager/ScriptRepoMemory.ts"
import * as ScriptRepoSql from "../../src/manager/ScriptRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
/** Names unique within a run: the SQL suite shares one database across its tests. */
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`
const missing = "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11" as ScriptId

/** One suite, run against every implementation: they must not be told apart. */
const contract = (name: string, repoLayer: Layer.Layer<ScriptRepo | AppRepo, unknown>) =>
  layer(repoLayer, { timeout: "60 seconds" })(`ScriptRepo (${name})`, (it) => {
    it.effect("create stores version 1 with defaults; get returns the source", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const name = unique("create")
        const created = yield* repo.create({ app_id: DEFAULT_APP_ID, name, source: "export default () => 1" })
        assert.strictEqual(created.name, name)
        assert.strictEqual(created.version, 1)
        assert.strictEqual(created.timeout_seconds, 30)
        assert.match(created.id, /^[0-9a-f-]{36}$/)
        assert.strictEqual(created.created_at, created.updated_at)
        const got = yield* repo.get(created.id)
        assert.strictEqual(got.source, "export default () => 1")
        assert.strictEqual(got.version, 1)
        const withTimeout = yield* repo.create({
          app_id: DEFAULT_APP_ID,
          name: unique("t"),
          source: "x",
          timeout_seconds: 7
        })
        assert.strictEqual(withTimeout.timeout_seconds, 7)
      }))

    it.effect("names are unique on create and on rename", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const a = unique("a")
        yield* repo.create({ app_id: DEFAULT_APP_ID, name: a, source: "1" })
        const dup = yield* repo.create({ app_id: DEFAULT_APP_ID, name: a, source: "2" }).pipe(Effect.flip)
        assert.strictEqual(dup._tag, "ScriptNameTaken")
        const b = yield* repo.create({ app_id: DEFAULT_APP_ID, name: unique("b"), source: "1" })
        const rename = yield* repo.update(b.id, { name: a, source: "2" }).pipe(Effect.flip)
        assert.strictEqual(rename._tag, "ScriptNameTaken")
        assert.strictEqual((yield* repo.get(b.id)).version, 1, "a refused rename changes nothing")
      }))

    it.effect("update bumps the version, keeps what it is not given, and the new source is current", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const created = yield* repo.create({
          app_id: DEFAULT_APP_ID,
          name: unique("u"),
          source: "v1",
          timeout_seconds: 9
        })
        const updated = yield* repo.update(created.id, { source: "v2" })
        assert.strictEqual(updated.version, 2)
        assert.strictEqual(updated.name, created.name)
        assert.strictEqual(updated.timeout_seconds, 9)
        assert.strictEqual(updated.created_at, created.created_at)
        assert.isAtLeast(Date.parse(updated.updated_at), Date.parse(created.updated_at))
        const renamed = yield* repo.update(created.id, { source: "v3", name: unique("renamed"), timeout_seconds: 3 })
        assert.strictEqual(renamed.version, 3)
        assert.strictEqual(renamed.timeout_seconds, 3)
        assert.strictEqual((yield* repo.get(created.id)).source, "v3")
        assert.strictEqual(Option.getOrThrow(yield* repo.findByRef(DEFAULT_APP_ID, renamed.name)).source, "v3")
        assert.isTrue(Option.isNone(yield* repo.findByRef(DEFAULT_APP_ID, created.name)))
      }))

    it.effect("findByRef finds by id or by name, and nothing else", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const created = yield* repo.create({ app_id: DEFAULT_APP_ID, name: unique("ref"), source: "s" })
        assert.strictEqual(Option.getOrThrow(yield* repo.findByRef(DEFAULT_APP_ID, created.id)).name, created.name)
        assert.strictEqual(
          Option.getOrThrow(yield* repo.findByRef(DEFAULT_APP_ID, created.id.toUpperCase())).id,
          created.id
        )
        assert.strictEqual(Option.getOrThrow(yield* repo.findByRef(DEFAULT_APP_ID, created.name)).id, created.id)
        for (const ref of [missing, "no-such-script", "", "'; DROP TABLE scripts; --"]) {
          assert.isTrue(Option.isNone(yield* repo.findByRef(DEFAULT_APP_ID, ref)), ref)
        }
      }))

    it.effect("find returns a script without its source, by id only", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const created = yield* repo.create({ app_id: DEFAULT_APP_ID, name: unique("find"), source: "s" })
        const found = yield* repo.find(created.id)
        assert.deepStrictEqual({ ...found }, { ...created })
        assert.notProperty(found, "source")
        assert.strictEqual((yield* repo.find(created.id.toUpperCase() as ScriptId)).id, created.id)
        for (const id of [missing, "not-a-uuid" as ScriptId, created.name as ScriptId]) {
          assert.strictEqual((yield* repo.find(id).pipe(Effect.flip))._tag, "ScriptNotFound", id)
        }
      }))

    it.effect("names are unique per app; list and findByRef keep to the app", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const apps = yield* AppRepo
        const other = yield* apps.create({ name: unique("app").toLowerCase() })
        const name = unique("same")
        const inDefault = yield* repo.create({ app_id: DEFAULT_APP_ID, name, source: "d" })
        const inOther = yield* repo.create({ app_id: other.id, name, source: "o" })
        assert.strictEqual(Option.getOrThrow(yield* repo.findByRef(DEFAULT_APP_ID, name)).source, "d")
        assert.strictEqual(Option.getOrThrow(yield* repo.findByRef(other.id, name)).source, "o")
        assert.strictEqual(
          Option.getOrThrow(yield* repo.findByRef(DEFAULT_APP_ID, inOther.id)).app_id,
          other.id,
          "an id reaches any app"
        )
        assert.deepStrictEqual((yield* repo.list(other.id)).map((s) => s.id), [inOther.id])
        assert.include((yield* repo.list()).map((s) => s.id), inDefault.id)
        assert.deepStrictEqual(yield* repo.list("not-an-app"), [])
        assert.strictEqual(
          (yield* repo.create({ app_id: other.id, name, source: "again" }).pipe(Effect.flip))._tag,
          "ScriptNameTaken"
        )
      }))

    it.effect("list is newest first", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const first = yield* repo.create({ app_id: DEFAULT_APP_ID, name: unique("l1"), source: "1" })
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
        const second = yield* repo.create({ app_id: DEFAULT_APP_ID, name: unique("l2"), source: "2" })
        const ids = (yield* repo.list()).map((s) => s.id)
        assert.isBelow(ids.indexOf(second.id), ids.indexOf(first.id))
      }))

    it.effect("unknown or malformed ids are ScriptNotFound on get, update and delete", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        for (const id of [missing, "not-a-uuid" as ScriptId]) {
          assert.strictEqual((yield* repo.get(id).pipe(Effect.flip))._tag, "ScriptNotFound")
          assert.strictEqual((yield* repo.update(id, { source: "x" }).pipe(Effect.flip))._tag, "ScriptNotFound")
          assert.strictEqual((yield* repo.delete(id).pipe(Effect.flip))._tag, "ScriptNotFound")
        }
      }))

    it.effect("delete removes the script; its name is free again", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const name = unique("d")
        const created = yield* repo.create({ app_id: DEFAULT_APP_ID, name, source: "1" })
        yield* repo.delete(created.id)
        assert.strictEqual((yield* repo.get(created.id).pipe(Effect.flip))._tag, "ScriptNotFound")
        assert.strictEqual((yield* repo.delete(created.id).pipe(Effect.flip))._tag, "ScriptNotFound")
        assert.isTrue(Option.isNone(yield* repo.findByRef(DEFAULT_APP_ID, name)))
        const again = yield* repo.create({ app_id: DEFAULT_APP_ID, name, source: "2" })
        assert.notStrictEqual(again.id, created.id)
      }))
  })

contract("memory", Layer.merge(ScriptRepoMemory.layer, AppRepoMemory.layer))
contract("sql", Layer.merge(ScriptRepoSql.layer, AppRepoSql.layer).pipe(Layer.provideMerge(TestDatabase)))

describe("ScriptRepo (sql only)", () => {
  layer(ScriptRepoSql.layer.pipe(Layer.provideMerge(TestDatabase)), { timeout: "60 seconds" })((it) => {
    it.effect("every version's source is kept in script_versions", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const sql = yield* SqlClient.SqlClient
        const created = yield* repo.create({ app_id: DEFAULT_APP_ID, name: unique("hist"), source: "one" })
        yield* repo.update(created.id, { source: "two" })
        const rows = yield* sql<{ version: number; source: string }>`
          SELECT version, source FROM script_versions WHERE script_id = ${created.id} ORDER BY version`
        assert.deepStrictEqual(rows.map((r) => [r.version, r.source]), [[1, "one"], [2, "two"]])
      }))

    it.effect("a script whose source is too large to read (over the client's 16 MiB message cap) can still be found, updated and deleted", () =>
      Effect.gen(function*() {
        const repo = yield* ScriptRepo
        const sql = yield* SqlClient.SqlClient
        const created = yield* repo.create({ app_id: DEFAULT_APP_ID, name: unique("huge"), source: "small" })
        // Such rows were stored before sources had a limit.
        yield* sql`UPDATE script_versions SET source = repeat('x', 17 * 1024 * 1024) WHERE script_id = ${created.id}`
        assert.strictEqual(
          (yield* repo.get(created.id).pipe(Effect.flip))._tag,
          "PersistenceError",
          "the premise: it cannot be read"
        )
        assert.strictEqual((yield* repo.find(created.id)).version, 1)
        const updated = yield* repo.update(created.id, { source: "readable again" })
        assert.strictEqual(updated.version, 2)
        yield* sql`UPDATE script_versions SET source = repeat('x', 17 * 1024 * 1024) WHERE script_id = ${created.id}`
        yield* repo.delete(created.id)
        assert.strictEqual((yield* repo.find(created.id).pipe(Effect.flip))._tag, "ScriptNotFound")
        const [left] = yield* sql<
          { n: number }
        >`SELECT count(*)::int AS n FROM script_versions WHERE script_id = ${created.id}`
        assert.strictEqual(left!.n, 0)
      }))
  })
})
