import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as TransactionsMemory from "../../../src/db/TransactionsMemory.ts"
import { DEFAULT_APP_ID } from "../../../src/domain/App.ts"
import type { ExecutionRecord } from "../../../src/domain/Execution.ts"
import type { Principal } from "../../../src/domain/Identity.ts"
import type { ScriptId } from "../../../src/domain/Ids.ts"
import { type Job, OutboxRepo } from "../../../src/domain/OutboxRepo.ts"
import type { CreateSchedule } from "../../../src/domain/Schedule.ts"
import { ScheduleRepo } from "../../../src/domain/ScheduleRepo.ts"
import { ScriptChanges } from "../../../src/domain/ScriptChanges.ts"
import { ScriptRepo } from "../../../src/domain/ScriptRepo.ts"
import * as Scheduler from "../../../src/manager/Scheduler.ts"
import * as ScheduleRepoMemory from "../../../src/manager/ScheduleRepoMemory.ts"
import * as SchedulerWakeLocal from "../../../src/manager/SchedulerWakeLocal.ts"
import { Schedules } from "../../../src/manager/Schedules.ts"
import * as ScriptRepoMemory from "../../../src/manager/ScriptRepoMemory.ts"
import * as DispatcherWakeLocal from "../../../src/orchestrator/DispatcherWakeLocal.ts"
import * as ExecutionLogMemory from "../../../src/orchestrator/ExecutionLogMemory.ts"
import * as OutboxRepoMemory from "../../../src/orchestrator/OutboxRepoMemory.ts"

const ADMIN: Principal = { user_id: "0b4f34e0-0000-4000-8000-0000000000ad", username: "boss", role: "admin", apps: [] }

/** Counts the scheduler's reads of the store (`due`): what it costs while nothing is due. */
const reads = { due: 0 }
const countingRepo = Layer.effect(
  ScheduleRepo,
  Effect.gen(function*() {
    const repo = yield* ScheduleRepo
    return ScheduleRepo.of({
      ...repo,
      due: (limit) => Effect.suspend(() => (reads.due++, repo.due(limit)))
    })
  })
).pipe(Layer.provide(ScheduleRepoMemory.layer))

/** Memory storage, shared by the schedulers of one test (as processes share a database), with no dispatcher. */
const storage = Layer.mergeAll(
  Schedules.layer,
  SchedulerWakeLocal.layer,
  ScriptChanges.layer
).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      countingRepo,
      ScriptRepoMemory.layer,
      OutboxRepoMemory.layer.pipe(Layer.provide([DispatcherWakeLocal.layer, ExecutionLogMemory.layer])),
      TransactionsMemory.layer,
      SchedulerWakeLocal.layer
    )
  ),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
)

/** Lets the fibers the last step woke run until they wait again. */
const settle = Effect.gen(function*() {
  for (let turn = 0; turn < 20; turn++) yield* Effect.yieldNow
})

/**
 * Starts a scheduler (a process's) in a scope of its own; the effect returned stops it (the
 * process going down). `settings`: its environment.
 */
const startScheduler = (settings: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Scope.Scope)
    const config = ConfigProvider.layer(ConfigProvider.fromUnknown(settings))
    yield* Layer.buildWithScope(Layer.fresh(Scheduler.layer).pipe(Layer.provide(config)), scope)
    yield* settle
    return Scope.close(scope, Exit.void)
  })

const runTest = <A, E>(test: Effect.Effect<A, E, Scope.Scope | Layer.Success<typeof storage>>) =>
  test.pipe(Effect.scoped, Effect.provide(storage, { local: true }))

const iso = (ms: number) => new Date(ms).toISOString()

/** A script to run, and a schedule of it. */
const schedule = (input: Omit<CreateSchedule, "script" | "name"> & { readonly name?: string }) =>
  Effect.gen(function*() {
    const script = yield* (yield* ScriptRepo).create({
      app_id: DEFAULT_APP_ID,
      name: `tick-${input.name ?? "s"}`,
      source: "x"
    })
    return yield* (yield* Schedules).create(ADMIN, DEFAULT_APP_ID, { name: "s", ...input, script: script.id })
  })

const record = (job: Job): ExecutionRecord => ({
  id: job.id,
  app_id: job.app_id,
  script_id: job.script_id as ScriptId,
  script_name: "tick",
  script_version: 1,
  invocation: "schedule",
  status: "succeeded",
  status_code: 200,
  started_at: job.accepted_at,
  duration_ms: 1,
  logs: [],
  logs_truncated: false,
  error: null,
  accepted_at: job.accepted_at,
  attempts: 1,
  result: null,
  ...job.lineage,
  kv_reads: 0,
  kv_writes: 0,
  kv_key: null
})

/**
 * The ticks queued so far (their `scheduled_at`, and how late they were fired), oldest first; with
 * `finish`, their runs end at once (as a dispatcher would), so none is still pending.
 */
const queuedTicks = (finish = true) =>
  Effect.gen(function*() {
    const outbox = yield* OutboxRepo
    const { jobs } = yield* outbox.claim("test/drain", 10_000)
    if (finish) { for (const job of jobs) yield* outbox.complete(job, "test/drain", record(job)) }
    return jobs.flatMap((job) =>
      job.kind === "schedule"
        ? [{
          at: job.payload.event.scheduled_at,
          lag: Date.parse(job.payload.event.fired_at) - Date.parse(job.payload.event.scheduled_at)
        }]
        : []
    ).sort((a, b) => (a.at < b.at ? -1 : 1))
  })

const ticks = (finish = true) => queuedTicks(finish).pipe(Effect.map((queued) => queued.map((t) => t.at)))

describe("Scheduler (TestClock)", () => {
  it.effect("a 6-field every-second schedule fires each second, at the second, once", () =>
    runTest(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00.300Z"))
      yield* startScheduler()
      const created = yield* schedule({ cron: "* * * * * *" })
      assert.strictEqual(created.next_run_at, "2026-05-01T10:00:01.000Z")
      yield* TestClock.adjust("10 seconds")
      const queued = yield* queuedTicks()
      assert.deepStrictEqual(
        queued.map((t) => t.at),
        Array.from({ length: 10 }, (_, i) => iso(Date.parse("2026-05-01T10:00:01Z") + i * 1000))
      )
      assert.isTrue(queued.every((t) => t.lag === 0), "fired at its second by the test clock")
      const stored = yield* (yield* ScheduleRepo).get(created.id)
      assert.deepStrictEqual([stored.next_run_at, stored.skipped_ticks, stored.last_run?.scheduled_at], [
        "2026-05-01T10:00:11.000Z",
        0,
        "2026-05-01T10:00:10.000Z"
      ])
    })))

  it.effect("time zones and daylight saving: 02:30 Berlin runs at 03:30 on spring-forward day and once on fall-back day", () =>
    runTest(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-27T12:00:00Z"))
      yield* startScheduler()
      yield* schedule({ cron: "30 2 * * *", timezone: "Europe/Berlin" })
      yield* TestClock.adjust("3 days")
      assert.deepStrictEqual(yield* ticks(), [
        "2026-03-28T01:30:00.000Z",
        "2026-03-29T01:30:00.000Z",
        "2026-03-30T00:30:00.000Z"
      ])
      yield* TestClock.setTime(Date.parse("2026-10-24T12:00:00Z"))
      yield* settle
      yield* ticks() // the months skipped over are a long outage: their ticks are skipped
      yield* TestClock.adjust("2 days")
      assert.deepStrictEqual(yield* ticks(), ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"])
    })))

  it.effect("an hourly schedule in New York runs at both 01:00s of the fall-back night and skips no hour in spring", () =>
    runTest(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-01T03:30:00Z"))
      yield* startScheduler()
      yield* schedule({ cron: "0 * * * *", timezone: "America/New_York" })
      yield* TestClock.adjust("4 hours")
      assert.deepStrictEqual(yield* ticks(), [
        "2026-11-01T04:00:00.000Z", // 00:00 EDT
        "2026-11-01T05:00:00.000Z", // 01:00 EDT
        "2026-11-01T06:00:00.000Z", // 01:00 EST
        "2026-11-01T07:00:00.000Z" // 02:00 EST
      ])
    })))

  describe("missed ticks (the platform down, then up again)", () => {
    /** An hourly schedule, its process down from 10:30 to 15:10 (five ticks missed), then back. */
    const outage = (missed: "skip" | "once" | "all", settings: Record<string, string> = {}) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00.500Z"))
        const stop = yield* startScheduler(settings)
        const created = yield* schedule({ cron: "0 * * * *", missed })
        yield* TestClock.adjust("30 minutes")
        yield* stop
        yield* TestClock.setTime(Date.parse("2026-05-01T15:10:00Z"))
        yield* startScheduler(settings)
        const fired = yield* queuedTicks()
        const after = yield* (yield* ScheduleRepo).get(created.id)
        return { fired, after }
      })

    it.effect("skip: none of them runs; they are counted; the next tick runs as usual", () =>
      runTest(Effect.gen(function*() {
        const { fired, after } = yield* outage("skip")
        assert.deepStrictEqual(fired, [])
        assert.deepStrictEqual([after.skipped_ticks, after.next_run_at], [5, "2026-05-01T16:00:00.000Z"])
        yield* TestClock.adjust("1 hour")
        assert.deepStrictEqual(yield* ticks(), ["2026-05-01T16:00:00.000Z"])
      })))

    it.effect("once: one run now, for the latest of them; the others are counted", () =>
      runTest(Effect.gen(function*() {
        const { fired, after } = yield* outage("once")
        assert.deepStrictEqual(fired.map((t) => t.at), ["2026-05-01T15:00:00.000Z"])
        assert.strictEqual(fired[0]!.lag, 10 * 60_000, "run now: ten minutes after its tick")
        assert.deepStrictEqual([after.skipped_ticks, after.next_run_at], [4, "2026-05-01T16:00:00.000Z"])
      })))

    it.effect("all: each of them runs now, oldest first; past PICLOUD_MAX_CATCH_UP the oldest are skipped", () =>
      runTest(Effect.gen(function*() {
        const { fired, after } = yield* outage("all")
        assert.deepStrictEqual(fired.map((t) => t.at), [11, 12, 13, 14, 15].map((h) => `2026-05-01T${h}:00:00.000Z`))
        assert.strictEqual(after.skipped_ticks, 0)
      })))

    it.effect("all, with PICLOUD_MAX_CATCH_UP=2", () =>
      runTest(Effect.gen(function*() {
        const { fired, after } = yield* outage("all", { PICLOUD_MAX_CATCH_UP: "2" })
        assert.deepStrictEqual(fired.map((t) => t.at), ["2026-05-01T14:00:00.000Z", "2026-05-01T15:00:00.000Z"])
        assert.strictEqual(after.skipped_ticks, 3)
      })))

    it.effect("a short outage of an every-second schedule: skip runs the tick still on time, the ones before it are skipped", () =>
      runTest(Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00.500Z"))
        const stop = yield* startScheduler()
        const created = yield* schedule({ cron: "* * * * * *" })
        yield* TestClock.adjust("2 seconds")
        yield* stop
        yield* TestClock.adjust("5 seconds")
        yield* startScheduler()
        assert.deepStrictEqual(yield* ticks(), [
          "2026-05-01T10:00:01.000Z",
          "2026-05-01T10:00:02.000Z",
          "2026-05-01T10:00:07.000Z"
        ])
        assert.strictEqual((yield* (yield* ScheduleRepo).get(created.id)).skipped_ticks, 4)
      })))
  })

  describe("overlap", () => {
    it.effect("skip: a tick whose previous run is still queued or running is skipped and counted; once it ends, ticks run again", () =>
      runTest(Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00.500Z"))
        yield* startScheduler()
        const created = yield* schedule({ cron: "* * * * * *", overlap: "skip" })
        yield* TestClock.adjust("3 seconds")
        assert.deepStrictEqual(yield* ticks(false), ["2026-05-01T10:00:01.000Z"], "its run is claimed, not ended")
        const repo = yield* ScheduleRepo
        assert.strictEqual((yield* repo.get(created.id)).skipped_ticks, 2)
        // The run ends: the next tick runs.
        const outbox = yield* OutboxRepo
        const running = Option.getOrThrow(yield* outbox.find((yield* repo.get(created.id)).last_run!.execution_id))
        yield* outbox.complete(running, "test/drain", record(running))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* ticks(), ["2026-05-01T10:00:04.000Z"])
        assert.strictEqual((yield* repo.get(created.id)).skipped_ticks, 2)
      })))

    it.effect("allow: every tick runs, whatever the previous run is doing", () =>
      runTest(Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00.500Z"))
        yield* startScheduler()
        yield* schedule({ cron: "* * * * * *" })
        yield* TestClock.adjust("3 seconds")
        assert.strictEqual((yield* ticks(false)).length, 3)
      })))

    it.effect("skip with missed ticks to catch up (all): only the first runs, the rest would overlap it", () =>
      runTest(Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00.500Z"))
        const stop = yield* startScheduler()
        const created = yield* schedule({ cron: "0 * * * *", missed: "all", overlap: "skip" })
        yield* stop
        yield* TestClock.setTime(Date.parse("2026-05-01T13:30:00Z"))
        yield* startScheduler()
        assert.deepStrictEqual(yield* ticks(), ["2026-05-01T11:00:00.000Z"])
        assert.strictEqual((yield* (yield* ScheduleRepo).get(created.id)).skipped_ticks, 2)
      })))
  })

  it.effect("two schedulers on one store fire each tick once", () =>
    runTest(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00.500Z"))
      yield* startScheduler()
      yield* startScheduler()
      yield* schedule({ cron: "* * * * * *" })
      yield* TestClock.adjust("5 seconds")
      const fired = yield* ticks()
      assert.deepStrictEqual(fired, [...new Set(fired)])
      assert.strictEqual(fired.length, 5)
    })))

  it.effect("no polling: asleep until the next tick, woken by a change; a new earlier schedule runs at its tick", () =>
    runTest(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00Z"))
      yield* startScheduler()
      yield* schedule({ cron: "0 0 1 1 *", name: "yearly" })
      yield* settle
      const before = reads.due
      yield* TestClock.adjust("30 days")
      assert.strictEqual(reads.due, before, "no read in 30 days with nothing due")
      const soon = yield* schedule({ cron: "*/5 * * * *", name: "soon" })
      yield* settle
      assert.strictEqual(reads.due, before + 1, "one read when woken by the change")
      yield* TestClock.adjust("5 minutes")
      assert.deepStrictEqual(yield* ticks(), ["2026-05-31T10:05:00.000Z"])
      // Disabled, it is not run, and the scheduler sleeps until the yearly tick again.
      yield* (yield* Schedules).update(ADMIN, soon, { enabled: false })
      yield* settle
      const idle = reads.due
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual([yield* ticks(), reads.due], [[], idle])
    })))
})
