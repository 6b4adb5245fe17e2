import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import * as TransactionsSql from "../../src/db/TransactionsSql.ts"
import { attemptOf, type ExecutionRecord, rootLineage } from "../../src/domain/Execution.ts"
import { ExecutionLog } from "../../src/domain/ExecutionLog.ts"
import type { Principal } from "../../src/domain/Identity.ts"
import type { ExecutionId, ScriptId } from "../../src/domain/Ids.ts"
import {
  type DeadLetterListOptions,
  HANDLER_RETRY,
  type HandlerJob,
  type Job,
  jobEvent,
  type NewJob,
  OutboxRepo
} from "../../src/domain/OutboxRepo.ts"
import { DEFAULT_RETRY_POLICY } from "../../src/domain/RetryPolicy.ts"
import { Transactions } from "../../src/domain/Transactions.ts"
import { uuidv7 } from "../../src/domain/uuidv7.ts"
import * as DispatcherWakeLocal from "../../src/orchestrator/DispatcherWakeLocal.ts"
import * as ExecutionLogMemory from "../../src/orchestrator/ExecutionLogMemory.ts"
import * as ExecutionLogSql from "../../src/orchestrator/ExecutionLogSql.ts"
import * as OutboxRepoMemory from "../../src/orchestrator/OutboxRepoMemory.ts"
import * as OutboxRepoSql from "../../src/orchestrator/OutboxRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

type HttpJob = Extract<NewJob, { readonly kind: "http" }>

/** Each test works in its own app, so tests sharing a database do not see each other's rows... */
const newJob = (appId: string, overrides: Partial<HttpJob> = {}): HttpJob => {
  const id = uuidv7() as ExecutionId
  return {
    id,
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
    lineage: rootLineage(id),
    dead_letter_script_id: null,
    ...overrides
  }
}

/** A KV trigger's row, one level below `parent`. */
const kvJob = (appId: string, parent: { readonly id: string; readonly root: string }, depth = 1): NewJob => ({
  ...newJob(appId),
  kind: "kv",
  payload: {
    event: {
      op: "set",
      key: "orders/1",
      value: { qty: 2, note: "✓" },
      old_value: null,
      version: 1,
      app: appId,
      trigger_id: crypto.randomUUID(),
      at: new Date().toISOString()
    },
    registrant_user_id: crypto.randomUUID()
  },
  lineage: { root_execution_id: parent.root, parent_execution_id: parent.id, trigger_depth: depth, trigger_id: null },
  dead_letter_script_id: crypto.randomUUID()
})

/** A schedule's tick: a root, run as the schedule's registrant. */
const scheduleJob = (appId: string): NewJob => ({
  ...newJob(appId),
  kind: "schedule",
  payload: {
    event: {
      schedule_id: crypto.randomUUID(),
      name: "nightly",
      scheduled_at: new Date(Date.now() - 1500).toISOString(),
      fired_at: new Date().toISOString()
    },
    registrant_user_id: crypto.randomUUID()
  },
  dead_letter_script_id: crypto.randomUUID()
})

/** The handler row of `dead`'s dead letter, as the dispatcher writes it. */
const handlerJob = (dead: Job, principal: Principal | null = null): HandlerJob => ({
  ...newJob(dead.app_id),
  kind: "dead_letter",
  script_id: dead.dead_letter_script_id!,
  payload: {
    dead_letter: {
      id: dead.id,
      app_id: dead.app_id,
      script_id: dead.script_id,
      invocation: dead.kind,
      request: dead.kind === "http" ? dead.payload.request : null,
      event: jobEvent(dead),
      attempts: dead.attempt_count,
      error: { code: "script_error", message: "boom" },
      accepted_at: dead.accepted_at,
      dead_lettered_at: new Date().toISOString()
    },
    principal
  },
  retry: HANDLER_RETRY,
  lineage: { ...dead.lineage, parent_execution_id: dead.id, trigger_id: null },
  dead_letter_script_id: null
})

const someone: Principal = { user_id: crypto.randomUUID(), username: "dev", role: "developer", apps: [] }

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
  kv_writes: 0,
  kv_key: null
})

const contract = (name: string, outboxLayer: Layer.Layer<OutboxRepo | ExecutionLog, unknown>) =>
  // Real clock throughout: the SQL layer keeps time with the database's now().
  layer(outboxLayer, { timeout: "60 seconds", excludeTestServices: true })(`OutboxRepo (${name})`, (it) => {
    it.effect("stats count the rows, those claimable now and how long the oldest has waited", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const before = yield* outbox.stats
        const app = crypto.randomUUID()
        const jobs = [newJob(app), newJob(app)]
        yield* Effect.forEach(jobs, (job) => outbox.enqueue(job), { discard: true })
        yield* Effect.sleep("60 millis")
        const queued = yield* outbox.stats
        assert.strictEqual(queued.rows, before.rows + 2)
        assert.strictEqual(queued.due, before.due + 2)
        assert.isTrue(queued.oldestDueAgeMs >= 50 && queued.oldestDueAgeMs < 30_000, `${queued.oldestDueAgeMs} ms`)

        // Claimed rows stay rows but are no longer waiting.
        const { jobs: claimed } = yield* outbox.claim("node-stats/1", 10_000)
        const running = yield* outbox.stats
        assert.strictEqual(running.rows, queued.rows)
        assert.strictEqual(running.due, 0)
        assert.strictEqual(running.oldestDueAgeMs, 0)
        for (const job of claimed.filter((job) => job.app_id === app)) {
          assert.isTrue(yield* outbox.complete(job, "node-stats/1", finalRecord(job, "succeeded")))
        }
        assert.strictEqual((yield* outbox.stats).rows, queued.rows - 2)
        yield* outbox.releaseStale("node-stats", [])
      }))

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

    it.effect("retryLater keeps the failed attempt with the row it puts back; a claim no longer held keeps none", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const log = yield* ExecutionLog
        const job = newJob(crypto.randomUUID(), { lease_seconds: 1 })
        yield* outbox.enqueue(job)
        const first = (yield* claimMine("node-a/1", [job.id])).mine[0]!
        const failed = finalRecord(first, "failed")
        const attempt = attemptOf({ ...failed, logs: [{ level: "error", message: "first try ✓", at: 1.5 }] })
        assert.isTrue(yield* outbox.retryLater(first, "node-a/1", { delayMs: 0, error: failed.error, attempt }))
        assert.deepStrictEqual(yield* log.attempts(job.id), [attempt])

        const second = (yield* claimMine("node-a/1", [job.id])).mine[0]!
        yield* Effect.sleep("1100 millis")
        const lost = attemptOf(finalRecord(second, "failed"))
        assert.isFalse(yield* outbox.retryLater(second, "node-a/1", { delayMs: 0, error: null, attempt: lost }))
        assert.deepStrictEqual(yield* log.attempts(job.id), [attempt])
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
          invocation: "http",
          request: job.payload.request,
          event: null,
          attempts: 1,
          error: record.error!,
          accepted_at: job.accepted_at,
          dead_lettered_at: undefined,
          replayed_as: null,
          resolution: null,
          resolution_error: null
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

    it.effect("enqueueAll writes rows of every kind in one go; kind, payload and lineage come back as written", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const writer = uuidv7()
        const kv = kvJob(app, { id: writer, root: writer })
        const deeper = kvJob(app, { id: kv.id, root: writer }, 2)
        const http = newJob(app)
        const tick = scheduleJob(app)
        yield* outbox.enqueueAll([])
        yield* outbox.enqueueAll([kv, deeper, http, tick])
        const { mine } = yield* claimMine("node-k/1", [kv.id, deeper.id, http.id, tick.id])
        const byId = new Map(mine.map((job) => [job.id, job]))
        for (const job of [kv, deeper, http, tick]) {
          const claimed = byId.get(job.id)!
          assert.deepStrictEqual(
            [claimed.kind, claimed.payload, claimed.lineage, claimed.dead_letter_script_id, claimed.attempt_count],
            [job.kind, job.payload, job.lineage, job.dead_letter_script_id, 1]
          )
          assert.isTrue(yield* outbox.complete(claimed, "node-k/1", finalRecord(claimed, "succeeded")))
        }
      }))

    it.effect("a schedule's dead letter shows its tick as the event, for its handler too", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const job = scheduleJob(crypto.randomUUID())
        yield* outbox.enqueueAll([job])
        const claimed = (yield* claimMine("node-s/1", [job.id])).mine[0]!
        const handler = handlerJob(claimed)
        assert.isTrue(yield* outbox.deadLetter(claimed, "node-s/1", finalRecord(claimed, "dead_lettered"), handler))
        const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
        assert.deepStrictEqual([dead.invocation, dead.event, dead.request], ["schedule", jobEvent(job), null])
        const queued = Option.getOrThrow(yield* outbox.find(handler.id))
        assert.deepStrictEqual(queued.payload, handler.payload)
        assert.deepStrictEqual(handler.payload.dead_letter.event, jobEvent(job))
        const claimedHandler = (yield* claimMine("node-s/1", [handler.id])).mine[0]!
        assert.isTrue(yield* outbox.complete(claimedHandler, "node-s/1", finalRecord(claimedHandler, "succeeded")))
      }))

    it.effect("a dead letter with a handler: the handler's row is written with it; its end resolves the dead letter", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const log = yield* ExecutionLog
        const app = crypto.randomUUID()
        const writer = uuidv7()
        const jobs = [kvJob(app, { id: writer, root: writer }), kvJob(app, { id: writer, root: writer })]
        yield* outbox.enqueueAll(jobs)
        const claimed = (yield* claimMine("node-d/1", jobs.map((job) => job.id))).mine
        assert.strictEqual(claimed.length, 2)
        const handlers = claimed.map((job) => handlerJob(job, someone))
        for (const [i, job] of claimed.entries()) {
          assert.isTrue(yield* outbox.deadLetter(job, "node-d/1", finalRecord(job, "dead_lettered"), handlers[i]))
          const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
          assert.deepStrictEqual(dead, {
            ...handlers[i]!.payload.dead_letter,
            replayed_as: null,
            resolution: "pending",
            resolution_error: null
          })
          assert.strictEqual(dead.request, null)
        }

        const running = (yield* claimMine("node-d/1", handlers.map((job) => job.id))).mine
        assert.strictEqual(running.length, 2)
        for (const handler of running) {
          const original = handlers.find((h) => h.id === handler.id)!
          assert.deepStrictEqual([handler.kind, handler.payload, handler.lineage], [
            original.kind,
            original.payload,
            original.lineage
          ])
        }
        const [ok, bad] = [
          running.find((h) => h.id === handlers[0]!.id)!,
          running.find((h) => h.id === handlers[1]!.id)!
        ]
        const okRecord = { ...finalRecord(ok, "succeeded"), invocation: "dead_letter" as const }
        const badRecord = { ...finalRecord(bad, "failed"), invocation: "dead_letter" as const }
        assert.isTrue(yield* outbox.complete(ok, "node-d/1", okRecord))
        assert.isTrue(yield* outbox.complete(bad, "node-d/1", badRecord))
        const handled = Option.getOrThrow(yield* outbox.findDeadLetter(claimed[0]!.id))
        assert.deepStrictEqual([handled.resolution, handled.resolution_error], ["handled", null])
        const failed = Option.getOrThrow(yield* outbox.findDeadLetter(claimed[1]!.id))
        assert.deepStrictEqual([failed.resolution, failed.resolution_error], ["handler_failed", badRecord.error])
        assert.deepStrictEqual(yield* log.get(bad.id), badRecord)
      }))

    it.effect("dead letters are listed newest first, filtered by script and handler state, a page after another", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const script = crypto.randomUUID()
        const writer = uuidv7()
        const jobs = [
          newJob(app, { script_id: script }),
          newJob(app),
          kvJob(app, { id: writer, root: writer }),
          newJob(app, { script_id: script })
        ]
        const buried: Array<string> = []
        for (const job of jobs) {
          yield* outbox.enqueue(job)
          const claimed = (yield* claimMine("node-l/1", [job.id])).mine[0]!
          const handler = job.kind === "kv" ? handlerJob(claimed, someone) : undefined
          assert.isTrue(yield* outbox.deadLetter(claimed, "node-l/1", finalRecord(claimed, "dead_lettered"), handler))
          buried.unshift(job.id)
          // Distinct milliseconds, so that the order is the order they were buried in.
          yield* Effect.sleep("3 millis")
        }
        const list = (options: Omit<DeadLetterListOptions, "appIds" | "limit">, limit = 10) =>
          outbox.deadLetters({ appIds: [app], limit, ...options })
        const all = yield* list({})
        assert.deepStrictEqual(all.map((d) => d.id), buried)
        assert.deepStrictEqual((yield* list({ scriptId: script })).map((d) => d.id), [jobs[3]!.id, jobs[0]!.id])
        assert.deepStrictEqual((yield* list({ resolution: "pending" })).map((d) => d.id), [jobs[2]!.id])
        assert.deepStrictEqual((yield* list({ resolution: "none" })).length, 3)
        assert.deepStrictEqual(yield* list({ resolution: "handled" }), [])

        const first = yield* list({}, 2)
        assert.deepStrictEqual(first.map((d) => d.id), buried.slice(0, 2))
        const last = first.at(-1)!
        const rest = yield* list({ after: { at: last.dead_lettered_at, id: last.id } })
        assert.deepStrictEqual(rest.map((d) => d.id), buried.slice(2))
        assert.deepStrictEqual(yield* list({ after: { at: last.dead_lettered_at, id: "not-a-uuid" } }), [])
      }))

    it.effect("a replay keeps kind, payload and handler, as a child of the dead execution in its chain", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const writer = uuidv7()
        const job = kvJob(app, { id: writer, root: writer }, 3)
        yield* outbox.enqueueAll([job])
        const claimed = (yield* claimMine("node-r/1", [job.id])).mine[0]!
        assert.isTrue(yield* outbox.deadLetter(claimed, "node-r/1", finalRecord(claimed, "dead_lettered")))
        const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
        assert.deepStrictEqual([dead.invocation, dead.request, dead.event, dead.resolution], [
          "kv",
          null,
          job.kind === "kv" ? job.payload.event : null,
          null
        ])
        const replayId = uuidv7() as ExecutionId
        yield* outbox.replay(job.id, replayId, new Date().toISOString())
        const again = Option.getOrThrow(yield* outbox.find(replayId))
        assert.deepStrictEqual([again.kind, again.payload, again.dead_letter_script_id, again.lineage], [
          job.kind,
          job.payload,
          job.dead_letter_script_id,
          { root_execution_id: writer, parent_execution_id: job.id, trigger_depth: 3, trigger_id: null }
        ])
        assert.strictEqual(Option.getOrThrow(yield* outbox.findDeadLetter(job.id)).resolution, null)
        yield* claimMine("node-r/1", [])
      }))

    it.effect("queuedChildren: the rows whose lineage parent is one of the ids given, oldest first, as many as asked", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const [a, b] = [uuidv7(), uuidv7()]
        const first = { ...kvJob(app, { id: a, root: a }), accepted_at: new Date(Date.now() - 2000).toISOString() }
        const second = { ...kvJob(app, { id: b, root: a }, 2), accepted_at: new Date(Date.now() - 1000).toISOString() }
        const elsewhere = kvJob(app, { id: uuidv7(), root: a })
        yield* outbox.enqueueAll([second, first, elsewhere])
        const children = yield* outbox.queuedChildren([a, b, "not-an-id"], 10)
        assert.deepStrictEqual(
          children,
          [first, second].map((job) => ({
            id: job.id,
            app_id: job.app_id,
            script_id: job.script_id,
            kind: job.kind,
            lineage: job.lineage,
            accepted_at: job.accepted_at
          }))
        )
        assert.deepStrictEqual((yield* outbox.queuedChildren([a, b], 1)).map((job) => job.id), [first.id])
        assert.deepStrictEqual(yield* outbox.queuedChildren([], 10), [])
        yield* claimMine("node-q/1", [])
      }))

    it.effect("an Idempotency-Key names one execution per app, and one request", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const first = newJob(app)
        /** Another acceptance of the same request: a new execution id, the same script and request. */
        const repeatOf = (job: HttpJob, appId = job.app_id) => ({ ...newJob(appId), script_id: job.script_id })
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

    it.effect("enqueueAll is never refused for the limit: its rows belong to a write already made", () =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const app = crypto.randomUUID()
        const writer = uuidv7()
        const jobs = Array.from({ length: 5 }, () => kvJob(app, { id: writer, root: writer }))
        yield* outbox.enqueueAll(jobs)
        for (const job of jobs) assert.isTrue(Option.isSome(yield* outbox.find(job.id)))
        assert.strictEqual((yield* outbox.enqueue(newJob(app)).pipe(Effect.flip))._tag, "OutboxFull")
      }))
  })

/**
 * Rows written behind the repository's back, in a database of their own (claims are global), and
 * a transaction rolled back: memory storage has none (`TransactionsMemory` runs writes as they come).
 */
layer(
  OutboxRepoSql.layer.pipe(
    Layer.provide(DispatcherWakeLocal.layer),
    Layer.provideMerge(Layer.merge(ExecutionLogSql.layer, TransactionsSql.layer)),
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

  it.effect("rows written before migration 0010 (no lineage, no handler) read as HTTP roots", () =>
    Effect.gen(function*() {
      const outbox = yield* OutboxRepo
      const sql = yield* SqlClient.SqlClient
      const [queued, dead] = [uuidv7(), uuidv7()]
      const { payload, retry } = newJob(crypto.randomUUID())
      yield* sql`INSERT INTO outbox (id, app_id, script_id, kind, payload, retry, lease_seconds, next_attempt_at, accepted_at)
        VALUES (${queued}, ${crypto.randomUUID()}, ${crypto.randomUUID()}, 'http', ${JSON.stringify(payload)}::jsonb,
          ${JSON.stringify(retry)}::jsonb, 30, now() + interval '1 hour', now())`
      yield* sql`INSERT INTO dead_letters (id, app_id, script_id, kind, payload, retry, lease_seconds, attempts, error,
          resolution, accepted_at)
        VALUES (${dead}, ${crypto.randomUUID()}, ${crypto.randomUUID()}, 'http', ${JSON.stringify(payload)}::jsonb,
          ${JSON.stringify(retry)}::jsonb, 30, 5, '{"code":"script_error","message":"boom"}'::jsonb, NULL, now())`
      const job = Option.getOrThrow(yield* outbox.find(queued))
      assert.deepStrictEqual([job.kind, job.lineage, job.dead_letter_script_id], ["http", rootLineage(queued), null])
      const letter = Option.getOrThrow(yield* outbox.findDeadLetter(dead))
      assert.deepStrictEqual([letter.invocation, letter.request, letter.event, letter.resolution], [
        "http",
        payload.request,
        null,
        null
      ])
      const replayId = uuidv7() as ExecutionId
      yield* outbox.replay(dead, replayId, new Date().toISOString())
      assert.deepStrictEqual(Option.getOrThrow(yield* outbox.find(replayId)).lineage, {
        root_execution_id: dead,
        parent_execution_id: dead,
        trigger_depth: 0,
        trigger_id: null
      })
      yield* sql`DELETE FROM outbox WHERE id IN (${queued}, ${replayId})`
    }))

  it.effect("enqueueAll joins the transaction around it: rolled back, it leaves no row; committed, its rows are claimable", () =>
    Effect.gen(function*() {
      const outbox = yield* OutboxRepo
      const transactions = yield* Transactions
      const app = crypto.randomUUID()
      const writer = uuidv7()
      const jobs = [kvJob(app, { id: writer, root: writer }), kvJob(app, { id: writer, root: writer })]
      const rolledBack = yield* transactions.atomically(
        outbox.enqueueAll(jobs).pipe(Effect.andThen(Effect.fail("the KV commit failed after its fan-out" as const)))
      ).pipe(Effect.flip)
      assert.strictEqual(rolledBack, "the KV commit failed after its fan-out")
      for (const job of jobs) assert.isTrue(Option.isNone(yield* outbox.find(job.id)))
      assert.deepStrictEqual(yield* outbox.queuedChildren([writer], 10), [])

      yield* transactions.atomically(outbox.enqueueAll(jobs))
      const { mine } = yield* claimMine("node-t/1", jobs.map((job) => job.id))
      assert.strictEqual(mine.length, 2)
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
