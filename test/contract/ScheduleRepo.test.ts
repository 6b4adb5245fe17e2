import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as TransactionsMemory from "../../src/db/TransactionsMemory.ts"
import * as TransactionsSql from "../../src/db/TransactionsSql.ts"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import { DEFAULT_RETRY_POLICY } from "../../src/domain/RetryPolicy.ts"
import type { NewSchedule } from "../../src/domain/Schedule.ts"
import { ScheduleRepo } from "../../src/domain/ScheduleRepo.ts"
import { ScriptRepo } from "../../src/domain/ScriptRepo.ts"
import { Transactions } from "../../src/domain/Transactions.ts"
import * as AppRepoMemory from "../../src/manager/AppRepoMemory.ts"
import * as AppRepoSql from "../../src/manager/AppRepoSql.ts"
import * as ScheduleRepoMemory from "../../src/manager/ScheduleRepoMemory.ts"
import * as ScheduleRepoSql from "../../src/manager/ScheduleRepoSql.ts"
import * as ScriptRepoMemory from "../../src/manager/ScriptRepoMemory.ts"
import * as ScriptRepoSql from "../../src/manager/ScriptRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`

/** A user id that names no user: a schedule keeps its registrant's id whatever becomes of the user. */
const REGISTRANT = "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"
const OTHER_USER = "0b4f34e0-0000-4000-8000-0000000000aa"
const UNKNOWN_ID = "5d7a9c1e-2b3f-4e6d-8a9b-0c1d2e3f4a5b"
/** Far from any test's now: a schedule that never falls due while the suite runs. */
const FAR = "2999-01-01T00:00:00.000Z"

const iso = (ms: number) => new Date(ms).toISOString()

/** A real pause (the test clock does not move by itself): a transaction held open meanwhile. */
const holdOpen = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))

/** The store's clock (the database's, or the test clock): due times are relative to it. */
const storeNow = Effect.gen(function*() {
  return (yield* (yield* ScheduleRepo).due(0)).now
})

/** A fresh app with two scripts, `run` and `handler`, and a schedule input for them. */
const world = Effect.gen(function*() {
  const app = yield* (yield* AppRepo).create({ name: unique("schedules") })
  const scripts = yield* ScriptRepo
  const run = yield* scripts.create({ app_id: app.id, name: "run", source: "x" })
  const handler = yield* scripts.create({ app_id: app.id, name: "handler", source: "x" })
  const input: NewSchedule = {
    app_id: app.id,
    name: "nightly",
    cron: "0 3 * * *",
    timezone: "Europe/Berlin",
    script_id: run.id,
    retry: DEFAULT_RETRY_POLICY,
    dead_letter_script_id: handler.id,
    missed: "skip",
    overlap: "allow",
    enabled: true,
    registrant_user_id: REGISTRANT,
    next_run_at: FAR
  }
  return { app, run, handler, input }
})

type Layers = ScheduleRepo | ScriptRepo | AppRepo | Transactions

/** `database`: the store checks what the write service checks first, and has real transactions (PostgreSQL). */
const contract = (name: string, repoLayer: Layer.Layer<Layers, unknown>, { database }: { database: boolean }) =>
  layer(repoLayer, { timeout: "60 seconds" })(`ScheduleRepo (${name})`, (it) => {
    it.effect("create gives back what was stored, with an id, no skipped tick, no run and both dates; get and list agree", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const { app, input } = yield* world
        const first = yield* schedules.create(input)
        assert.deepInclude(first, input)
        assert.match(first.id, /^[0-9a-f-]{36}$/)
        assert.deepStrictEqual([first.skipped_ticks, first.last_run], [0, null])
        assert.strictEqual(first.created_at, first.updated_at)
        assert.deepStrictEqual(yield* schedules.get(first.id), first)
        assert.deepStrictEqual(yield* schedules.get(first.id.toUpperCase()), first, "ids are UUIDs in any case")

        const second = yield* schedules.create({
          ...input,
          name: "every-second",
          cron: "* * * * * *",
          timezone: "UTC",
          dead_letter_script_id: null,
          missed: "all",
          overlap: "skip",
          enabled: false,
          next_run_at: null
        })
        assert.deepInclude(second, { missed: "all", overlap: "skip", enabled: false, next_run_at: null })
        assert.deepStrictEqual((yield* schedules.list(app.id)).map((s) => s.id), [first.id, second.id])
        assert.includeMembers((yield* schedules.list()).map((s) => s.id), [first.id, second.id])
        assert.deepStrictEqual(yield* schedules.list(UNKNOWN_ID), [])
        assert.deepStrictEqual(yield* schedules.list("not-a-uuid"), [])
      }))

    it.effect("names are unique within an app, on create and on update; another app may reuse one", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const { input } = yield* world
        const other = yield* world
        const first = yield* schedules.create(input)
        const taken = yield* schedules.create(input).pipe(Effect.flip)
        assert.deepStrictEqual([taken._tag, taken._tag === "ScheduleNameTaken" && taken.name], [
          "ScheduleNameTaken",
          "nightly"
        ])
        yield* schedules.create(other.input)
        const second = yield* schedules.create({ ...input, name: "weekly" })
        const renamed = yield* schedules.update(second.id, { name: "nightly", registrant_user_id: REGISTRANT }).pipe(
          Effect.flip
        )
        assert.strictEqual(renamed._tag, "ScheduleNameTaken")
        assert.strictEqual(
          (yield* schedules.update(first.id, { name: "nightly", registrant_user_id: REGISTRANT })).name,
          "nightly"
        )
      }))

    it.effect("update changes only the fields given, always the registrant and updated_at", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const { input, handler } = yield* world
        const created = yield* schedules.create(input)
        const moved = yield* schedules.update(created.id, { cron: "*/5 * * * *", registrant_user_id: OTHER_USER })
        assert.deepStrictEqual(
          { ...moved, updated_at: created.updated_at },
          { ...created, cron: "*/5 * * * *", registrant_user_id: OTHER_USER }
        )
        assert.isTrue(moved.updated_at >= created.updated_at)
        assert.deepStrictEqual(yield* schedules.get(created.id), moved)

        const changed = yield* schedules.update(created.id, {
          name: "renamed",
          timezone: "America/New_York",
          script_id: handler.id,
          retry: { ...DEFAULT_RETRY_POLICY, max_attempts: 1 },
          dead_letter_script_id: null,
          missed: "once",
          overlap: "skip",
          enabled: false,
          next_run_at: null,
          registrant_user_id: REGISTRANT
        })
        assert.deepInclude(changed, {
          name: "renamed",
          cron: "*/5 * * * *",
          timezone: "America/New_York",
          script_id: handler.id,
          retry: { ...DEFAULT_RETRY_POLICY, max_attempts: 1 },
          dead_letter_script_id: null,
          missed: "once",
          overlap: "skip",
          enabled: false,
          next_run_at: null,
          registrant_user_id: REGISTRANT
        })
        assert.strictEqual(changed.created_at, created.created_at)
        for (const id of [UNKNOWN_ID, "not-a-uuid"]) {
          const missing = yield* schedules.update(id, { registrant_user_id: REGISTRANT }).pipe(Effect.flip)
          assert.strictEqual(missing._tag, "ScheduleNotFound", id)
        }
      }))

    it.effect("delete, and unknown or malformed ids, are ScheduleNotFound", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const { input } = yield* world
        const created = yield* schedules.create(input)
        yield* schedules.delete(created.id)
        for (const id of [created.id, UNKNOWN_ID, "not-a-uuid"]) {
          assert.strictEqual((yield* schedules.get(id).pipe(Effect.flip))._tag, "ScheduleNotFound", id)
          assert.strictEqual((yield* schedules.delete(id).pipe(Effect.flip))._tag, "ScheduleNotFound", id)
        }
        assert.isFalse(
          yield* schedules.recordRun(created.id, {
            execution_id: UNKNOWN_ID,
            scheduled_at: FAR,
            fired_at: FAR
          })
        )
      }))

    it.effect("deleteForScript removes the schedules that run the script and clears it as a dead-letter handler", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const scripts = yield* ScriptRepo
        const { app, run, handler, input } = yield* world
        const runs = yield* schedules.create(input)
        const handled = yield* schedules.create({
          ...input,
          name: "handled",
          script_id: handler.id,
          dead_letter_script_id: run.id
        })
        const unrelated = yield* schedules.create({
          ...input,
          name: "unrelated",
          script_id: handler.id,
          dead_letter_script_id: null
        })
        yield* schedules.deleteForScript(run.id)
        yield* scripts.delete(run.id)
        assert.strictEqual((yield* schedules.get(runs.id).pipe(Effect.flip))._tag, "ScheduleNotFound")
        const cleared = yield* schedules.get(handled.id)
        assert.deepStrictEqual([cleared.dead_letter_script_id, cleared.script_id], [null, handler.id])
        assert.deepStrictEqual(yield* schedules.get(unrelated.id), unrelated)
        assert.deepStrictEqual((yield* schedules.list(app.id)).map((s) => s.id), [handled.id, unrelated.id])
      }))

    it.effect("due: the schedules whose next run has come, earliest first, as many as asked; the next one to come", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const { input } = yield* world
        const now = yield* storeNow
        const make = (name: string, at: number | null) =>
          schedules.create({
            ...input,
            name,
            enabled: at !== null,
            next_run_at: at === null ? null : iso(at)
          })
        const late = yield* make("late", now - 60_000)
        const later = yield* make("later", now - 1_000)
        const soon = yield* make("soon", now + 30_000)
        yield* make("off", null)
        const mine = [late.id, later.id, soon.id]
        const found = yield* schedules.due(1000)
        assert.deepStrictEqual(found.schedules.filter((s) => mine.includes(s.id)).map((s) => s.id), [late.id, later.id])
        assert.isAtLeast(found.now, now)
        assert.isNotNull(found.nextDueAt)
        assert.isAtMost(found.nextDueAt!, now + 30_000, "the next to come is no later than ours")
        assert.isAbove(found.nextDueAt!, found.now)
        assert.isAtMost((yield* schedules.due(1)).schedules.length, 1)
      }))

    it.effect("advance moves next_run_at on only from the value expected, adds the skipped ticks and notes the run", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const { input } = yield* world
        const now = yield* storeNow
        const due = iso(now - 2_000)
        const created = yield* schedules.create({ ...input, next_run_at: due })
        const fired = { execution_id: UNKNOWN_ID, scheduled_at: due, fired_at: iso(now) }
        assert.isTrue(yield* schedules.advance(created.id, due, { next_run_at: iso(now + 60_000), skipped: 2, fired }))
        assert.isFalse(
          yield* schedules.advance(created.id, due, { next_run_at: iso(now + 120_000), skipped: 5, fired: null }),
          "a second advance from the same tick does nothing"
        )
        const advanced = yield* schedules.get(created.id)
        assert.deepStrictEqual([advanced.next_run_at, advanced.skipped_ticks, advanced.last_run], [
          iso(now + 60_000),
          2,
          fired
        ])
        assert.strictEqual(advanced.updated_at, created.updated_at, "a tick is not an update of the schedule")

        assert.isTrue(
          yield* schedules.advance(created.id, iso(now + 60_000), {
            next_run_at: iso(now + 120_000),
            skipped: 1,
            fired: null
          })
        )
        const skipped = yield* schedules.get(created.id)
        assert.deepStrictEqual([skipped.skipped_ticks, skipped.last_run], [3, fired], "no run: the last one stays")

        const ran = { execution_id: OTHER_USER, scheduled_at: iso(now), fired_at: iso(now) }
        assert.isTrue(yield* schedules.recordRun(created.id, ran))
        const recorded = yield* schedules.get(created.id)
        assert.deepStrictEqual([recorded.last_run, recorded.next_run_at], [ran, iso(now + 120_000)])

        yield* schedules.update(created.id, { enabled: false, next_run_at: null, registrant_user_id: REGISTRANT })
        assert.isFalse(
          yield* schedules.advance(created.id, iso(now + 120_000), {
            next_run_at: FAR,
            skipped: 0,
            fired: null
          })
        )
        assert.isFalse(yield* schedules.advance(UNKNOWN_ID, due, { next_run_at: FAR, skipped: 0, fired: null }))
      }))

    if (!database) return

    it.effect("concurrent advances from one tick (each in its transaction, held open a while): exactly one moves it", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const transactions = yield* Transactions
        const { input } = yield* world
        const now = yield* storeNow
        const due = iso(now - 1_000)
        const created = yield* schedules.create({ ...input, next_run_at: due })
        const outcomes = yield* Effect.all(
          Array.from({ length: 8 }, (_, i) =>
            transactions.atomically(
              schedules.advance(created.id, due, { next_run_at: iso(now + 1000 * (i + 1)), skipped: 1, fired: null })
                .pipe(Effect.tap(() => holdOpen))
            )),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(outcomes.filter(Boolean).length, 1, JSON.stringify(outcomes))
        assert.strictEqual((yield* schedules.get(created.id)).skipped_ticks, 1)
      }))

    it.effect("advance joins the transaction around it: rolled back, the tick is still due", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const transactions = yield* Transactions
        const { input } = yield* world
        const now = yield* storeNow
        const due = iso(now - 1_000)
        const created = yield* schedules.create({ ...input, next_run_at: due })
        const failed = yield* transactions.atomically(
          schedules.advance(created.id, due, { next_run_at: FAR, skipped: 0, fired: null }).pipe(
            Effect.andThen(Effect.fail("the outbox write failed" as const))
          )
        ).pipe(Effect.flip)
        assert.strictEqual(failed, "the outbox write failed")
        assert.strictEqual((yield* schedules.get(created.id)).next_run_at, due)
      }))

    it.effect("both scripts must be the app's; a schedule goes with the script it runs and with its app", () =>
      Effect.gen(function*() {
        const schedules = yield* ScheduleRepo
        const scripts = yield* ScriptRepo
        const apps = yield* AppRepo
        const { run, handler, input } = yield* world
        const elsewhere = yield* world
        const refused = [
          { ...input, script_id: elsewhere.run.id },
          { ...input, dead_letter_script_id: elsewhere.handler.id },
          { ...input, script_id: UNKNOWN_ID },
          { ...input, enabled: false }
        ]
        for (const bad of refused) {
          assert.strictEqual((yield* schedules.create(bad).pipe(Effect.flip))._tag, "PersistenceError")
        }
        const created = yield* schedules.create(input)
        const named = yield* scripts.delete(handler.id).pipe(Effect.flip)
        assert.strictEqual(named._tag, "PersistenceError", "a handler still named by a schedule is cleared first")
        yield* scripts.delete(run.id)
        assert.strictEqual((yield* schedules.get(created.id).pipe(Effect.flip))._tag, "ScheduleNotFound")
        const withHandler = yield* schedules.create(elsewhere.input)
        yield* apps.delete(elsewhere.app.id)
        assert.strictEqual((yield* schedules.get(withHandler.id).pipe(Effect.flip))._tag, "ScheduleNotFound")
      }))
  })

contract(
  "memory",
  Layer.mergeAll(ScheduleRepoMemory.layer, ScriptRepoMemory.layer, AppRepoMemory.layer, TransactionsMemory.layer),
  { database: false }
)
contract(
  "sql",
  Layer.mergeAll(ScheduleRepoSql.layer, ScriptRepoSql.layer, AppRepoSql.layer, TransactionsSql.layer).pipe(
    Layer.provideMerge(TestDatabase)
  ),
  { database: true }
)
