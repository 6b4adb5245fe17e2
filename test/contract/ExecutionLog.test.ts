import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { ExecutionAttempt, ExecutionRecord } from "../../src/domain/Execution.ts"
import { ExecutionLog } from "../../src/domain/ExecutionLog.ts"
import type { ScriptId } from "../../src/domain/Ids.ts"
import { uuidv7 } from "../../src/domain/uuidv7.ts"
import * as ExecutionLogMemory from "../../src/orchestrator/ExecutionLogMemory.ts"
import * as ExecutionLogSql from "../../src/orchestrator/ExecutionLogSql.ts"
import { executionRecord } from "../support/executionRecord.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

const execution = (scriptId: string, startedAt: Date, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord =>
  executionRecord({
    script_id: scriptId as ScriptId,
    script_version: 2,
    started_at: startedAt.toISOString(),
    duration_ms: 1.25,
    logs: [{ level: "log", message: "hi ✓ \"quoted\"", at: 0.5 }],
    root_execution_id: crypto.randomUUID(),
    ...overrides
  })

const attempt = (n: number, startedAt: Date): ExecutionAttempt => ({
  attempt: n,
  status: "failed",
  status_code: 502,
  error: { code: "script_error", message: `attempt ${n} threw` },
  started_at: startedAt.toISOString(),
  duration_ms: 3.5,
  logs: [{ level: "warn", message: `try ${n} ✓`, at: 0.25 }],
  logs_truncated: n === 2
})

/** One suite, run against every implementation. Each test uses its own script id. */
const contract = (name: string, logLayer: Layer.Layer<ExecutionLog, unknown>) =>
  layer(logLayer, { timeout: "60 seconds" })(`ExecutionLog (${name})`, (it) => {
    it.effect("a recorded execution can be read back at once, field for field", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const ok = execution(crypto.randomUUID(), new Date())
        const failed = execution(ok.script_id, new Date(), {
          status: "failed",
          status_code: 504,
          logs: [],
          logs_truncated: true,
          error: { code: "timeout", message: "ran past its timeout" }
        })
        yield* log.record(ok)
        yield* log.record(failed)
        assert.deepStrictEqual(yield* log.get(ok.id), ok)
        assert.deepStrictEqual(yield* log.get(failed.id), failed)
      }))

    it.effect("getMany reads the records of the ids that exist, in the order given, at once after record", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const [a, b, c] = [0, 1, 2].map(() => execution(crypto.randomUUID(), new Date())) as [
          ExecutionRecord,
          ExecutionRecord,
          ExecutionRecord
        ]
        for (const record of [a, b, c]) yield* log.record(record)
        const got = yield* log.getMany([c.id, crypto.randomUUID(), "nope", a.id.toUpperCase(), b.id])
        assert.deepStrictEqual(got, [c, a, b])
        assert.deepStrictEqual(yield* log.getMany([]), [])
        assert.deepStrictEqual(yield* log.getMany(["nope"]), [])
      }))

    it.effect("unknown and malformed ids are ExecutionNotFound", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        for (const id of [crypto.randomUUID(), "nope"]) {
          assert.strictEqual((yield* log.get(id).pipe(Effect.flip))._tag, "ExecutionNotFound")
        }
      }))

    it.effect("lists newest first, filtered by script, page by page with a cursor", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const script = crypto.randomUUID()
        const base = Date.now() - 60_000
        // Two share a start time: the id breaks the tie.
        const times = [0, 10, 10, 20, 30, 40, 50]
        const records = times.map((t) => execution(script, new Date(base + t)))
        for (const r of records) yield* log.record(r)
        yield* log.record(execution(crypto.randomUUID(), new Date(base + 25)))
        const expected = [...records].reverse().map((r) => r.id)
        const seen: Array<string> = []
        let cursor: string | undefined
        for (let page = 0; page < 10; page++) {
          const result = yield* log.list({ scriptId: script as ScriptId, limit: 3, cursor })
          seen.push(...result.items.map((r) => r.id))
          if (result.next_cursor === null) break
          cursor = result.next_cursor
        }
        assert.deepStrictEqual(seen, expected)
        const all = yield* log.list({ limit: 1000 })
        assert.isAtLeast(all.items.length, 8)
        const starts = all.items.map((r) => r.started_at)
        assert.deepStrictEqual(starts, [...starts].sort().reverse())
      }))

    it.effect("lists only the executions of the given apps", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const [appA, appB] = [crypto.randomUUID(), crypto.randomUUID()]
        const a = execution(crypto.randomUUID(), new Date(), { app_id: appA })
        const b = execution(crypto.randomUUID(), new Date(), { app_id: appB })
        yield* log.record(a)
        yield* log.record(b)
        assert.deepStrictEqual((yield* log.list({ limit: 100, appIds: [appA] })).items.map((e) => e.id), [a.id])
        assert.deepStrictEqual(
          (yield* log.list({ limit: 100, appIds: [appA, appB] })).items.map((e) => e.id).sort(),
          [a.id, b.id].sort()
        )
        assert.deepStrictEqual((yield* log.list({ limit: 100, appIds: [] })).items, [])
      }))

    it.effect("a cursor it did not hand out is InvalidCursor; an unknown script lists nothing", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        for (const cursor of ["garbage", Buffer.from("2026-01-01|x").toString("base64url")]) {
          assert.strictEqual((yield* log.list({ limit: 5, cursor }).pipe(Effect.flip))._tag, "InvalidCursor")
        }
        assert.deepStrictEqual((yield* log.list({ scriptId: crypto.randomUUID() as ScriptId, limit: 5 })).items, [])
        assert.deepStrictEqual((yield* log.list({ scriptId: "not-a-uuid" as ScriptId, limit: 5 })).items, [])
      }))

    it.effect("lineage and KV counts are kept; a listing can be limited to one invocation", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const app = crypto.randomUUID()
        const root = execution(crypto.randomUUID(), new Date(), { app_id: app })
        const triggered = execution(crypto.randomUUID(), new Date(), {
          app_id: app,
          invocation: "kv",
          root_execution_id: root.id,
          parent_execution_id: root.id,
          trigger_depth: 1,
          trigger_id: crypto.randomUUID(),
          kv_reads: 3,
          kv_writes: 2
        })
        const skipped = execution(crypto.randomUUID(), new Date(), {
          app_id: app,
          invocation: "kv",
          status: "depth_exceeded",
          status_code: null,
          error: { code: "depth_exceeded", message: "too deep" },
          trigger_depth: 9
        })
        for (const record of [root, triggered, skipped]) yield* log.record(record)
        assert.deepStrictEqual(yield* log.get(triggered.id), triggered)
        assert.deepStrictEqual(yield* log.get(skipped.id), skipped)
        const kv = yield* log.list({ appIds: [app], invocation: "kv", limit: 10 })
        assert.deepStrictEqual(kv.items.map((e) => e.id).sort(), [triggered.id, skipped.id].sort())
        const http = yield* log.list({ appIds: [app], invocation: "http", limit: 10 })
        assert.deepStrictEqual(http.items.map((e) => e.id), [root.id])
        const deep = yield* log.list({ appIds: [app], status: "depth_exceeded", limit: 10 })
        assert.deepStrictEqual(deep.items.map((e) => e.id), [skipped.id])
        const kvOk = yield* log.list({ appIds: [app], invocation: "kv", status: "succeeded", limit: 10 })
        assert.deepStrictEqual(kvOk.items.map((e) => e.id), [triggered.id])
        assert.deepStrictEqual((yield* log.list({ appIds: [app], status: "failed", limit: 10 })).items, [])
      }))

    it.effect("a listing can be limited to the runs of one trigger; a malformed trigger id lists nothing", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const app = crypto.randomUUID()
        const [one, other] = [crypto.randomUUID(), crypto.randomUUID()]
        const run = (triggerId: string | null, at: number) =>
          execution(crypto.randomUUID(), new Date(Date.now() - at), {
            app_id: app,
            invocation: triggerId === null ? "http" : "kv",
            trigger_id: triggerId
          })
        const [older, newer, foreign, untriggered] = [run(one, 2000), run(one, 1000), run(other, 500), run(null, 100)]
        for (const record of [older, newer, foreign, untriggered]) yield* log.record(record)
        const page = yield* log.list({ appIds: [app], triggerId: one, limit: 1 })
        assert.deepStrictEqual(page.items.map((e) => e.id), [newer.id])
        const rest = yield* log.list({ appIds: [app], triggerId: one, limit: 1, cursor: page.next_cursor! })
        assert.deepStrictEqual(rest.items.map((e) => e.id), [older.id])
        assert.strictEqual(rest.next_cursor, null)
        assert.deepStrictEqual((yield* log.list({ triggerId: other, limit: 10 })).items.map((e) => e.id), [foreign.id])
        assert.deepStrictEqual((yield* log.list({ triggerId: crypto.randomUUID(), limit: 10 })).items, [])
        assert.deepStrictEqual((yield* log.list({ triggerId: "not-a-uuid", limit: 10 })).items, [])
      }))

    it.effect("a listing can be limited to the runs one key's writes triggered, in the given apps; the key is kept", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const [app, otherApp] = [crypto.randomUUID(), crypto.randomUUID()]
        const trigger = crypto.randomUUID()
        const run = (appId: string, key: string | null, at: number) =>
          execution(crypto.randomUUID(), new Date(Date.now() - at), {
            app_id: appId,
            invocation: key === null ? "http" : "kv",
            trigger_id: key === null ? null : trigger,
            kv_key: key
          })
        const key = "orders/42 ✓"
        const [older, newer, sibling, elsewhere, untriggered] = [
          run(app, key, 3000),
          run(app, key, 2000),
          run(app, "orders/43", 1000), // same trigger, same pattern, another key
          run(otherApp, key, 500), // the same key in another app's store
          run(app, null, 100)
        ]
        for (const record of [older, newer, sibling, elsewhere, untriggered]) yield* log.record(record)
        assert.strictEqual((yield* log.get(newer.id)).kv_key, key)
        assert.strictEqual((yield* log.get(untriggered.id)).kv_key, null)
        const page = yield* log.list({ appIds: [app], kvKey: key, limit: 1 })
        assert.deepStrictEqual(page.items.map((e) => e.id), [newer.id])
        const rest = yield* log.list({ appIds: [app], kvKey: key, limit: 1, cursor: page.next_cursor! })
        assert.deepStrictEqual(rest.items.map((e) => e.id), [older.id])
        assert.strictEqual(rest.next_cursor, null)
        const both = yield* log.list({ appIds: [app], triggerId: trigger, limit: 10 })
        assert.deepStrictEqual(both.items.map((e) => e.id), [sibling.id, newer.id, older.id])
        assert.deepStrictEqual(
          (yield* log.list({ appIds: [otherApp], kvKey: key, limit: 10 })).items.map((e) => e.id),
          [
            elsewhere.id
          ]
        )
        assert.deepStrictEqual((yield* log.list({ appIds: [app], kvKey: "orders/4", limit: 10 })).items, [])
        // An app that is not an id has no runs; beside one that is, it changes nothing.
        assert.deepStrictEqual((yield* log.list({ appIds: ["not-an-id"], kvKey: key, limit: 10 })).items, [])
        const mixed = yield* log.list({ appIds: ["not-an-id", app], kvKey: key, limit: 10 })
        assert.deepStrictEqual(mixed.items.map((e) => e.id), [newer.id, older.id])
      }))

    it.effect("descendants: the execution, then those below it by parent, level by level, as far as the limit", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const base = Date.now() - 10_000
        const at = (ms: number) => new Date(base + ms)
        const root = execution(crypto.randomUUID(), at(0))
        const below = (parent: ExecutionRecord, ms: number) =>
          execution(crypto.randomUUID(), at(ms), {
            root_execution_id: root.id,
            parent_execution_id: parent.id,
            trigger_depth: parent.trigger_depth + 1
          })
        const b = below(root, 20)
        const a = below(root, 10)
        const a1 = below(a, 30)
        const b1 = below(b, 40)
        const a1x = below(a1, 50)
        const unrelated = execution(crypto.randomUUID(), at(15), { parent_execution_id: crypto.randomUUID() })
        for (const record of [root, b, a, a1, b1, a1x, unrelated]) yield* log.record(record)

        const all = yield* log.descendants(root.id, 100)
        assert.isFalse(all.truncated)
        assert.deepStrictEqual(all.nodes.map((n) => n.id), [root.id, a.id, b.id, a1.id, b1.id, a1x.id])
        assert.deepStrictEqual(all.nodes[3], {
          id: a1.id,
          app_id: a1.app_id,
          parent_execution_id: a.id,
          script_id: a1.script_id,
          script_name: a1.script_name,
          invocation: a1.invocation,
          status: a1.status,
          trigger_id: null,
          trigger_depth: 2,
          started_at: a1.started_at,
          duration_ms: a1.duration_ms
        })
        const fromA = yield* log.descendants(a.id, 100)
        assert.deepStrictEqual(fromA.nodes.map((n) => n.id), [a.id, a1.id, a1x.id])
        const bounded = yield* log.descendants(root.id, 3)
        assert.isTrue(bounded.truncated)
        assert.deepStrictEqual(bounded.nodes.map((n) => n.id), [root.id, a.id, b.id])
        assert.deepStrictEqual(yield* log.descendants(crypto.randomUUID(), 10), { nodes: [], truncated: false })
        assert.deepStrictEqual(yield* log.descendants("nope", 10), { nodes: [], truncated: false })
      }))

    it.effect("attempts: each kept once, in order; none for an unknown or malformed id", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const id = uuidv7()
        const first = attempt(1, new Date(Date.now() - 2_000))
        const second = {
          ...attempt(2, new Date()),
          error: { code: "timeout", message: "ran past ✓" },
          status_code: 504
        }
        yield* log.recordAttempt(id, second)
        yield* log.recordAttempt(id, first)
        yield* log.recordAttempt(id, { ...first, duration_ms: 99 })
        assert.deepStrictEqual(yield* log.attempts(id), [first, second])
        assert.deepStrictEqual(yield* log.attempts(uuidv7()), [])
        assert.deepStrictEqual(yield* log.attempts("nope"), [])
      }))

    it.effect("minuteStats: the given apps' executions from a time on, by minute: counts by status, nearest-rank p95", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const app = crypto.randomUUID()
        const scriptId = crypto.randomUUID()
        const from = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000
        for (let i = 1; i <= 20; i++) {
          yield* log.record(execution(scriptId, new Date(from + i * 2_000), {
            app_id: app,
            status: i % 7 === 0 ? "failed" : "succeeded",
            duration_ms: i
          }))
        }
        yield* log.record(execution(scriptId, new Date(from + 70_000), { app_id: app, duration_ms: 5 }))
        yield* log.record(execution(scriptId, new Date(from - 1_000), { app_id: app }))
        yield* log.record(execution(scriptId, new Date(from + 5_000), { app_id: crypto.randomUUID() }))
        // Async: waited 1.5 s and 0.25 s at their first attempts; the retried one's wait is left out.
        const accepted = (ms: number) => new Date(from + 70_000 - ms).toISOString()
        yield* log.record(execution(scriptId, new Date(from + 70_000), { app_id: app, accepted_at: accepted(1_500) }))
        yield* log.record(execution(scriptId, new Date(from + 70_000), { app_id: app, accepted_at: accepted(250) }))
        yield* log.record(
          execution(scriptId, new Date(from + 70_000), { app_id: app, accepted_at: accepted(30_000), attempts: 3 })
        )
        assert.deepStrictEqual(yield* log.minuteStats({ from: new Date(from), appIds: [app] }), [
          { at: from, outcomes: { succeeded: 18, failed: 2 }, p95Ms: 19, waitMs: null },
          { at: from + 60_000, outcomes: { succeeded: 4 }, p95Ms: 5, waitMs: 1_500 }
        ])
        assert.deepStrictEqual(yield* log.minuteStats({ from: new Date(from), appIds: [] }), [])
        const all = yield* log.minuteStats({ from: new Date(from) })
        assert.strictEqual(all.find((m) => m.at === from)!.outcomes.succeeded! >= 19, true, "every app's")
      }))

    it.effect("flush writes everything recorded; many records at once are all kept", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const script = crypto.randomUUID()
        const now = Date.now()
        const records = Array.from({ length: 1200 }, (_, i) => execution(script, new Date(now + i)))
        yield* Effect.forEach(records, (r) => log.record(r), { discard: true })
        yield* log.flush
        const page = yield* log.list({ scriptId: script as ScriptId, limit: 2000 })
        assert.strictEqual(page.items.length, 1200)
        assert.isNull(page.next_cursor)
      }))
  })

contract("memory", ExecutionLogMemory.layer)
contract("sql", ExecutionLogSql.layer.pipe(Layer.provideMerge(TestDatabase)))

layer(ExecutionLogSql.layer.pipe(Layer.provideMerge(TestDatabase)), { timeout: "60 seconds" })(
  "ExecutionLog (sql only)",
  (it) => {
    it.effect("the writer fiber stores records in the background, with no read to prompt it", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const sql = yield* SqlClient.SqlClient
        const record = execution(crypto.randomUUID(), new Date())
        yield* log.record(record)
        let found = 0
        for (let i = 0; i < 100 && found === 0; i++) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
          found = (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM executions WHERE id = ${record.id}`)[0]!.n
        }
        assert.strictEqual(found, 1)
      }))

    it.effect("a record written before migration 0010 (no root) is its own root, at depth 0", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const sql = yield* SqlClient.SqlClient
        const id = uuidv7()
        yield* sql`INSERT INTO executions (id, app_id, script_id, script_name, script_version, invocation, status,
            status_code, started_at, duration_ms, logs, logs_truncated)
          VALUES (${id}, ${crypto.randomUUID()}, ${crypto.randomUUID()}, 's', 1, 'http', 'succeeded', 200, now(), 1,
            '[]'::jsonb, false)`
        const record = yield* log.get(id)
        assert.deepStrictEqual(
          [record.root_execution_id, record.parent_execution_id, record.trigger_depth, record.trigger_id],
          [id, null, 0, null]
        )
        assert.deepStrictEqual([record.kv_reads, record.kv_writes, record.attempts], [0, 0, 1])
      }))

    it.effect("a record PostgreSQL refuses is dropped on its own; the records around it are written", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const scriptId = crypto.randomUUID()
        const before = execution(scriptId, new Date())
        const refused = execution(scriptId, new Date(), { status_code: 1e12 })
        const after = execution(scriptId, new Date())
        for (const record of [before, refused, after]) yield* log.record(record)
        yield* log.flush
        assert.deepStrictEqual(yield* log.get(before.id), before)
        assert.deepStrictEqual(yield* log.get(after.id), after)
        assert.strictEqual((yield* log.get(refused.id).pipe(Effect.flip))._tag, "ExecutionNotFound")
      }))

    it.effect("text PostgreSQL cannot hold (U+0000, a lone surrogate) is kept as U+FFFD, and holds up no other record", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const scriptId = crypto.randomUUID()
        const odd = execution(scriptId, new Date(), {
          status: "failed",
          logs: [{ level: "log", message: "a\u0000b \ud800", at: 1 }],
          error: { code: "script_error", message: "bad \udc00 \u0000" },
          accepted_at: new Date().toISOString(),
          result: { status: 200, headers: { "x-\u0000": "\ud83d" }, body: "\u0000" }
        })
        const plain = execution(scriptId, new Date())
        yield* log.record(odd)
        yield* log.record(plain)
        yield* log.flush
        const stored = yield* log.get(odd.id)
        assert.deepStrictEqual(stored.logs, [{ level: "log", message: "a\uFFFDb \uFFFD", at: 1 }])
        assert.deepStrictEqual(stored.error, { code: "script_error", message: "bad \uFFFD \uFFFD" })
        assert.deepStrictEqual(stored.result, { status: 200, headers: { "x-\uFFFD": "\uFFFD" }, body: "\uFFFD" })
        assert.deepStrictEqual(yield* log.get(plain.id), plain)
      }))
  }
)

const retentionConfig = ConfigProvider.layer(ConfigProvider.fromUnknown({
  PICLOUD_EXECUTION_RETENTION_DAYS: "7",
  PICLOUD_EXECUTION_RETENTION_COUNT: "5",
  PICLOUD_EXECUTION_PRUNE_INTERVAL: "0 millis"
}))

layer(ExecutionLogSql.layer.pipe(Layer.provide(retentionConfig), Layer.provideMerge(TestDatabase)), {
  timeout: "60 seconds"
})(
  "ExecutionLog retention (sql)",
  (it) => {
    it.effect("after writes, records past the age limit go, then all but the newest N; their attempts with them", () =>
      Effect.gen(function*() {
        const log = yield* ExecutionLog
        const sql = yield* SqlClient.SqlClient
        const script = crypto.randomUUID()
        const now = Date.now()
        const old = Array.from({ length: 3 }, (_, i) => execution(script, new Date(now - 10 * 86_400_000 + i)))
        const recent = Array.from({ length: 8 }, (_, i) => execution(script, new Date(now - 60_000 + i)))
        // Attempts: of an old record, of one past the count, of a kept one, and one whose record never came.
        const orphan = uuidv7()
        for (
          const [id, at] of [[old[0]!.id, now - 10 * 86_400_000], [recent[0]!.id, now - 60_000], [
            recent[7]!.id,
            now - 60_000
          ], [orphan, now - 9 * 86_400_000]] as const
        ) {
          yield* log.recordAttempt(id, attempt(1, new Date(at)))
        }
        for (const r of [...old, ...recent]) yield* log.record(r)
        // Batches and prunes interleave: wait for the final state (a middle one can also hold 5 rows).
        const expected = recent.slice(-5).reverse().map((r) => r.id)
        let ids: Array<string> = []
        let attempted: Array<string> = []
        for (let i = 0; i < 150; i++) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
          ids = (yield* sql<{ id: string }>`SELECT id FROM executions ORDER BY started_at DESC, id DESC`).map((r) =>
            r.id
          )
          attempted = (yield* sql<{ id: string }>`SELECT execution_id AS id FROM execution_attempts`).map((r) => r.id)
          if (ids.join() === expected.join() && attempted.length === 1) break
        }
        assert.deepStrictEqual(ids, expected)
        assert.deepStrictEqual(attempted, [recent[7]!.id])
      }))
  }
)

layer(ExecutionLogMemory.layer.pipe(Layer.provide(retentionConfig)))("ExecutionLog retention (memory)", (it) => {
  it.effect("keeps the newest N, and the attempts of those only", () =>
    Effect.gen(function*() {
      const log = yield* ExecutionLog
      const records = Array.from({ length: 8 }, (_, i) => execution(crypto.randomUUID(), new Date(Date.now() + i)))
      yield* log.recordAttempt(records[0]!.id, attempt(1, new Date()))
      yield* log.recordAttempt(records[7]!.id, attempt(1, new Date()))
      for (const r of records) yield* log.record(r)
      assert.deepStrictEqual(
        (yield* log.list({ limit: 100 })).items.map((r) => r.id),
        records.slice(-5).reverse().map((r) => r.id)
      )
      assert.deepStrictEqual(yield* log.attempts(records[0]!.id), [])
      assert.strictEqual((yield* log.attempts(records[7]!.id)).length, 1)
    }))
})
