import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { type ExecutionRecord, rootLineage } from "../../src/domain/Execution.ts"
import { ExecutionLog } from "../../src/domain/ExecutionLog.ts"
import type { ExecutionId, ScriptId } from "../../src/domain/Ids.ts"
import { type Job, type NewJob, OutboxRepo } from "../../src/domain/OutboxRepo.ts"
import { DEFAULT_RETRY_POLICY } from "../../src/domain/RetryPolicy.ts"
import { uuidv7 } from "../../src/domain/uuidv7.ts"
import * as DispatcherWakeLocal from "../../src/orchestrator/DispatcherWakeLocal.ts"
import * as ExecutionLogMemory from "../../src/orchestrator/ExecutionLogMemory.ts"
import * as ExecutionLogSql from "../../src/orchestrator/ExecutionLogSql.ts"
import * as OutboxRepoMemory from "../../src/orchestrator/OutboxRepoMemory.ts"
import * as OutboxRepoSql from "../../src/orchestrator/OutboxRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

/** Each test works in its own app, so tests sharing a database do not see each other's rows... */
const newJob = (appId: string, overrides: Partial<NewJob> = {}): NewJob => ({
  id: uuidv7() as ExecutionId,
  app_id: appId,
  script_id: crypto.randomUUID(),
  kind: "http",
  payload: {
    request: { method: "POST", path: "/a/b", params: {}, query: {}, headers: { "x-✓": "1" }, body: "{\"n\":1}" },
    principal: null
  },
  retry: DEFAULT_RETRY_POLICY,
  lease_seconds: 30,
  accepted_at: new Date().toISOString(),
  ...overrides
})

/** ...but claims are global: a test claims until it has found its own rows. */
const claimMine = (owner: string, ids: ReadonlyArray<string>, limit = 100) =>
  Effect.gen(function*() {
    const outbox = yield* OutboxRepo
    const { jobs, nextDueAt } = yield* outbox.claim(owner, limit)
    return { mine: jobs.filter((job) => ids.includes(job.id)), nextDueAt }
  })

const finalRecord = (job: Job, status: ExecutionRecord["status"]): ExecutionRecord => ({
  id: job.id,
  app_id: job.app_id,
  script_id: job.script_id as ScriptId,
  script_name: "s",
  script_version: 1,
  invocation: "http",
  status,
  status_code: status === "succeeded" ? 201 : 502,
  started_at: new Date().toISOString(),
  duration_ms: 2,
  logs: [],
  logs_truncated: false,
  error: status === "succeeded" ? null : { code: "script_error", message: "boom" },
  accepted_at: job.accepted_at,
  attempts: job.attempt_count,
  result: status === "succeeded" ? { status: 201, headers: { "content-type": "text/plain" }, body: "done ✓" } : null,
  ...rootLineage(job.id),
  kv_reads: 0,
  kv_writes: 0
})

const contract = (name: string, outboxLayer: Layer.Layer<OutboxRepo | ExecutionLog, unknown>) =>
  // Real clock throughout: the SQL layer keeps time with the database's now().
  layer(outboxLayer, { timeout: "60 seconds", excludeTestServices: true })(`OutboxRepo (${name})`, (it) => {
    it.effect("an enqueued row is found, claimed once with a lease and an attempt, and its payload intact", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const job = newJob(crypto.randomUUID())
        const accepted = yield* outbox.enqueue(job)
        assert.deepStrictEqual(accepted, { execution_id: job.id, accepted_at: job.accepted_at, repeated: false })
        const queued = Option.getOrThrow(yield* outbox.find(job.id))
        assert.strictEqual(queued.attempt_count, 0)
        assert.strictEqual(queued.claimed_by, null)

        const { mine } = yield* claimMine("node-a/1", [job.id])
        assert.strictEqual(mine.length, 1)
        const claimed = mine[0]!
        assert.deepStrictEqual(claimed.payload, job.payload)
        assert.deepStrictEqual(claimed.retry, job.retry)
        assert.strictEqual(claimed.attempt_count, 1)
        assert.strictEqual(claimed.claimed_by, "node-a/1")
        const leaseMs = Date.parse(claimed.claimed_until!) - Date.now()
        assert.isTrue(leaseMs > 25_000 && leaseMs <= 30_000, `lease ends in ${leaseMs} ms`)
        assert.strictEqual((yield* claimMine("node-b/1", [job.id])).mine.length, 0)
        assert.isTrue(yield* outbox.complete(claimed, "node-a/1", finalRecord(claimed, "succeeded")))
      }))

    it.effect("concurrent claimers never share a row", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const jobs = Array.from({ length: 200 }, () => newJob(app))
        yield* Effect.forEach(jobs, (job) => outbox.enqueue(job), { concurrency: 16, discard: true })
        const ids = jobs.map((job) => job.id)
        const claimedBy = new Map<string, Array<string>>()
        const claimer = (owner: string) =>
          Effect.gen(function*() {
            for (let round = 0; round < 50; round++) {
              const { jobs: got } = yield* outbox.claim(owner, 7)
              if (got.length === 0) return
              for (const job of got) claimedBy.set(job.id, [...(claimedBy.get(job.id) ?? []), owner])
            }
          })
        yield* Effect.forEach(["c1/x", "c2/x", "c3/x", "c4/x", "c5/x", "c6/x"], claimer, {
          concurrency: "unbounded",
          discard: true
        })
        for (const id of ids) {
          assert.strictEqual(claimedBy.get(id)?.length, 1, `row ${id} claimed by ${claimedBy.get(id)}`)
        }
      }))

    it.effect("a claim whose lease expired is claimed again; the first claimer can no longer end it", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const job = newJob(crypto.randomUUID(), { lease_seconds: 1 })
        yield* outbox.enqueue(job)
        const first = (yield* claimMine("node-a/1", [job.id])).mine[0]!
        assert.strictEqual((yield* claimMine("node-b/1", [job.id])).mine.length, 0)
        yield* Effect.sleep("1100 millis")
        const second = (yield* claimMine("node-b/1", [job.id])).mine[0]!
        assert.strictEqual(second.attempt_count, 2)
        assert.strictEqual(second.claimed_by, "node-b/1")
        assert.isFalse(yield* outbox.complete(first, "node-a/1", finalRecord(first, "succeeded")))
        assert.isFalse(yield* outbox.retryLater(first, "node-a/1", { delayMs: 0, error: null }))
        assert.isTrue(yield* outbox.complete(second, "node-b/1", finalRecord(second, "succeeded")))
      }))

    it.effect("completing removes the row and keeps the final record with its result", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const log = yield* ExecutionLog
        const job = newJob(crypto.randomUUID())
        yield* outbox.enqueue(job)
        const claimed = (yield* claimMine("node-a/1", [job.id])).mine[0]!
        const record = finalRecord(claimed, "succeeded")
        assert.isTrue(yield* outbox.complete(claimed, "node-a/1", record))
        assert.isTrue(Option.isNone(yield* outbox.find(job.id)))
        assert.deepStrictEqual(yield* log.get(job.id), record)
        assert.isFalse(yield* outbox.complete(claimed, "node-a/1", record))
      }))

    it.effect("retryLater puts the row back after the delay, keeping the error and the attempt count", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const job = newJob(crypto.randomUUID())
        yield* outbox.enqueue(job)
        const first = (yield* claimMine("node-a/1", [job.id])).mine[0]!
        assert.isTrue(yield* outbox.retryLater(first, "node-a/1", { delayMs: 0, error: null }))
        const again = (yield* claimMine("node-a/1", [job.id])).mine[0]!
        assert.strictEqual(again.attempt_count, 2)

        const error = { code: "script_error", message: "boom" }
        assert.isTrue(yield* outbox.retryLater(again, "node-a/1", { delayMs: 60_000, error }))
        const waiting = Option.getOrThrow(yield* outbox.find(job.id))
        assert.strictEqual(waiting.attempt_count, 2)
        assert.deepStrictEqual(waiting.last_error, error)
        assert.strictEqual(waiting.claimed_by, null)
        const dueIn = Date.parse(waiting.next_attempt_at) - Date.now()
        assert.isTrue(dueIn > 55_000 && dueIn <= 60_000, `due in ${dueIn} ms`)
        const { mine, nextDueAt } = yield* claimMine("node-a/1", [job.id])
        assert.strictEqual(mine.length, 0)
        assert.isNotNull(nextDueAt)
      }))

    it.effect("dead-lettering removes the row and records the execution as dead_lettered; the dead letter can be replayed and discarded", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const log = yield* ExecutionLog
        const job = newJob(crypto.randomUUID(), { retry: { ...DEFAULT_RETRY_POLICY, max_attempts: 1 } })
        yield* outbox.enqueue(job)
        const claimed = (yield* claimMine("node-a/1", [job.id])).mine[0]!
        const record = finalRecord(claimed, "dead_lettered")
        assert.isTrue(yield* outbox.deadLetter(claimed, "node-a/1", record))
        assert.isTrue(Option.isNone(yield* outbox.find(job.id)))
        assert.deepStrictEqual(yield* log.get(job.id), record)
        assert.isFalse(yield* outbox.deadLetter(claimed, "node-a/1", record))

        // Kept with its request, listed per app, replayable, discardable.
        const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
        assert.deepStrictEqual({ ...dead, dead_lettered_at: undefined }, {
          id: job.id,
          app_id: job.app_id,
          script_id: job.script_id,
          request: job.payload.request,
          attempts: 1,
          error: record.error!,
          accepted_at: job.accepted_at,
          dead_lettered_at: undefined,
          replayed_as: null
        })
        assert.deepStrictEqual((yield* outbox.deadLetters({ appIds: [job.app_id], limit: 10 })).map((d) => d.id), [
          job.id
        ])
        assert.deepStrictEqual(yield* outbox.deadLetters({ appIds: [crypto.randomUUID()], limit: 10 }), [])
        const replayId = uuidv7() as ExecutionId
        const replayed = Option.getOrThrow(yield* outbox.replay(job.id, replayId, new Date().toISOString()))
        assert.strictEqual(replayed.execution_id, replayId)
        const again = Option.getOrThrow(yield* outbox.find(replayId))
        assert.deepStrictEqual([again.attempt_count, again.payload, again.retry, again.script_id], [
          0,
          job.payload,
          job.retry,
          job.script_id
        ])
        assert.strictEqual(Option.getOrThrow(yield* outbox.findDeadLetter(job.id)).replayed_as, replayId)
        assert.isTrue(
          Option.isNone(yield* outbox.replay(crypto.randomUUID(), uuidv7() as ExecutionId, new Date().toISOString()))
        )
        assert.isTrue(yield* outbox.discard(job.id))
        assert.isFalse(yield* outbox.discard(job.id))
        assert.isTrue(Option.isNone(yield* outbox.findDeadLetter(job.id)))
        yield* claimMine("node-a/1", [])
      }))

    it.effect("an Idempotency-Key names one execution per app, and one request", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const first = newJob(app)
        /** Another acceptance of the same request: a new execution id, the same script and request. */
        const repeatOf = (job: NewJob, appId = job.app_id) => ({ ...newJob(appId), script_id: job.script_id })
        assert.isFalse((yield* outbox.enqueue(first, "key-1")).repeated)
        const repeat = yield* outbox.enqueue(repeatOf(first), "key-1")
        assert.deepStrictEqual(repeat, { execution_id: first.id, accepted_at: first.accepted_at, repeated: true })
        const otherApp = repeatOf(first, crypto.randomUUID())
        assert.deepStrictEqual((yield* outbox.enqueue(otherApp, "key-1")).execution_id, otherApp.id)
        const otherKey = repeatOf(first)
        assert.deepStrictEqual((yield* outbox.enqueue(otherKey, "key-2")).execution_id, otherKey.id)
        // Still the same execution once it has finished.
        const claimed = (yield* claimMine("node-a/1", [first.id])).mine[0]!
        yield* outbox.complete(claimed, "node-a/1", finalRecord(claimed, "succeeded"))
        assert.strictEqual((yield* outbox.enqueue(repeatOf(first), "key-1")).execution_id, first.id)
        // The same key for another request (here: another body) is refused, and nothing is enqueued.
        const different = repeatOf(first)
        const otherRequest = {
          ...different,
          payload: { ...different.payload, request: { ...different.payload.request, body: "{\"n\":2}" } }
        }
        const reused = yield* outbox.enqueue(otherRequest, "key-1").pipe(Effect.flip)
        assert.strictEqual(reused._tag, "IdempotencyKeyReused")
        assert.isTrue(Option.isNone(yield* outbox.find(otherRequest.id)))
        yield* claimMine("node-a/1", [])
      }))

    it.effect("a node releases its own stale claims, except the ones it is running; never other nodes'", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const mine = newJob(app)
        const running = newJob(app)
        const theirs = newJob(app)
        yield* outbox.enqueue(mine)
        yield* outbox.enqueue(running)
        yield* outbox.enqueue(theirs)
        yield* claimMine("node-r/old", [mine.id, running.id, theirs.id])
        // Both were claimed by node-r/old in one batch; hand one to node-q.
        const q = Option.getOrThrow(yield* outbox.find(theirs.id))
        yield* outbox.retryLater(q, "node-r/old", { delayMs: 0, error: null })
        yield* claimMine("node-q/1", [theirs.id])
        assert.isTrue((yield* outbox.releaseStale("node-r", [running.id])) >= 1)
        const released = Option.getOrThrow(yield* outbox.find(mine.id))
        assert.strictEqual(released.claimed_by, null)
        assert.strictEqual(Option.getOrThrow(yield* outbox.find(running.id)).claimed_by, "node-r/old")
        assert.strictEqual(Option.getOrThrow(yield* outbox.find(theirs.id)).claimed_by, "node-q/1")
        assert.strictEqual((yield* claimMine("node-r/new", [mine.id])).mine.length, 1)
      }))
  })

/** A fresh outbox with room for three rows: the fourth is refused until one ends. */
const bounded = (name: string, outboxLayer: Layer.Layer<OutboxRepo | ExecutionLog, unknown>) =>
  layer(
    outboxLayer.pipe(
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_MAX_QUEUED_EXECUTIONS: "3" })))
    ),
    {
      timeout: "60 seconds",
      excludeTestServices: true
    }
  )(`OutboxRepo (${name}) with PICLOUD_MAX_QUEUED_EXECUTIONS=3`, (it) => {
    it.effect("refuses a row past the limit with OutboxFull, and takes one again once a row has ended", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const jobs = [newJob(app), newJob(app), newJob(app)]
        for (const job of jobs) yield* outbox.enqueue(job)
        const full = yield* outbox.enqueue(newJob(app)).pipe(Effect.flip)
        assert.strictEqual(full._tag, "OutboxFull")
        const claimed = (yield* claimMine("node-a/1", [jobs[0]!.id])).mine[0]!
        assert.isTrue(yield* outbox.complete(claimed, "node-a/1", finalRecord(claimed, "succeeded")))
        yield* outbox.enqueue(newJob(app))
      }))
  })

/** Rows written behind the repository's back, in a database of their own (claims are global). */
layer(
  OutboxRepoSql.layer.pipe(
    Layer.provide(DispatcherWakeLocal.layer),
    Layer.provideMerge(ExecutionLogSql.layer),
    Layer.provideMerge(TestDatabase)
  ),
  { timeout: "60 seconds", excludeTestServices: true }
)("OutboxRepo (sql) with a malformed row", (it) => {
  it.effect("a row that does not decode: reading it is a PersistenceError, and a claim skips it but returns the others", () =>
    Effect.gen(function*() {
      const outbox = yield* OutboxRepo
      const sql = yield* SqlClient.SqlClient
      const id = uuidv7()
      // A retry policy with no fields: a cast would have handed the dispatcher undefined delays.
      yield* sql`INSERT INTO outbox (id, app_id, script_id, kind, payload, retry, lease_seconds, next_attempt_at, accepted_at)
        VALUES (${id}, ${crypto.randomUUID()}, ${crypto.randomUUID()}, 'http',
          ${JSON.stringify(newJob(crypto.randomUUID()).payload)}::jsonb, '{}'::jsonb, 30, now(), now())`
      const good = newJob(crypto.randomUUID())
      yield* outbox.enqueue(good)
      const failure = yield* outbox.find(id).pipe(Effect.flip)
      assert.strictEqual(failure.operation, "OutboxRepo.find")
      assert.instanceOf(failure.cause, Schema.SchemaError)
      // One bad row must not stop every claim (and with it all async work).
      const { jobs } = yield* outbox.claim("node-m/1", 10)
      assert.deepStrictEqual(jobs.map((job) => job.id), [good.id])
    }))
})

contract(
  "memory",
  OutboxRepoMemory.layer.pipe(
    Layer.provide(DispatcherWakeLocal.layer),
    Layer.provideMerge(ExecutionLogMemory.layer)
  )
)
bounded(
  "memory",
  OutboxRepoMemory.layer.pipe(
    Layer.provide(DispatcherWakeLocal.layer),
    Layer.provideMerge(ExecutionLogMemory.layer)
  )
)
bounded(
  "sql",
  OutboxRepoSql.layer.pipe(
    Layer.provide(DispatcherWakeLocal.layer),
    Layer.provideMerge(ExecutionLogSql.layer),
    Layer.provideMerge(TestDatabase)
  )
)
contract(
  "sql",
  OutboxRepoSql.layer.pipe(
    Layer.provide(DispatcherWakeLocal.layer),
    Layer.provideMerge(ExecutionLogSql.layer),
    Layer.provideMerge(TestDatabase)
  )
)
