import { Duration, Effect, Layer, Metric, Option, Result } from "effect"
import * as Settings from "../config/Settings.ts"
import { EVERYTHING } from "../domain/ChangeFeed.ts"
import type { ExecutionId, ScriptId } from "../domain/Ids.ts"
import { leaseSeconds, OutboxRepo } from "../domain/OutboxRepo.ts"
import { restartingLoop } from "../domain/restartingLoop.ts"
import type { Schedule } from "../domain/Schedule.ts"
import { compileCron, planTicks } from "../domain/ScheduleCron.ts"
import { ScheduleRepo } from "../domain/ScheduleRepo.ts"
import { DEFAULT_TIMEOUT_SECONDS } from "../domain/Script.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { ScriptRepo } from "../domain/ScriptRepo.ts"
import { Transactions } from "../domain/Transactions.ts"
import { uuidv7 } from "../domain/uuidv7.ts"
import * as Metrics from "../orchestrator/PlatformMetrics.ts"
import { scheduleJob } from "./scheduleJobs.ts"
import { SchedulerWake } from "./SchedulerWake.ts"

/** Due schedules read per query at most (more are read at once after them). */
const DUE_BATCH = 32
const iso = (ms: number) => new Date(ms).toISOString()

/**
 * The cron scheduler (docs/ARCHITECTURE.md §5): one supervised fiber per process. It sleeps until
 * the earliest `next_run_at` of any enabled schedule, or until a schedule changes (`SchedulerWake`:
 * in process, or NOTIFY from another), with no polling in between: with no schedule enabled it
 * sleeps until one is. Awake, it reads the due schedules and ends each due tick in one
 * transaction: `next_run_at` moved on (guarded by its old value, so only one process moves it) and
 * the tick's outbox row (kind `schedule`) written, or nothing. Missed ticks follow the schedule's
 * `missed` policy, overlapping ones its `overlap` policy; skipped ticks and lag are counted.
 */
export const layer = Layer.effectDiscard(Effect.gen(function*() {
  const schedules = yield* ScheduleRepo
  const outbox = yield* OutboxRepo
  const transactions = yield* Transactions
  const wake = yield* SchedulerWake
  const scripts = yield* ScriptRepo
  const scriptChanges = yield* ScriptChanges
  const graceMs = Duration.toMillis(yield* Settings.scheduleGrace.config)
  const maxCatchUp = yield* Settings.maxCatchUp.config

  /** Scripts' timeouts (a row's lease follows them), read once per script and dropped when it changes. */
  const timeouts = new Map<string, number>()
  yield* scriptChanges.listen((scriptId) =>
    Effect.sync(() => scriptId === EVERYTHING ? timeouts.clear() : void timeouts.delete(scriptId))
  )
  const timeoutOf = (scriptId: string) =>
    Effect.suspend(() => {
      const known = timeouts.get(scriptId)
      if (known !== undefined) return Effect.succeed(known)
      return scripts.find(scriptId as ScriptId).pipe(
        Effect.map((script) => script.timeout_seconds),
        Effect.tap((timeout) => Effect.sync(() => timeouts.set(scriptId, timeout))),
        // Deleted meanwhile: its schedule goes with it, and a row written now fails at dispatch.
        Effect.catchTag("ScriptNotFound", () => Effect.succeed(DEFAULT_TIMEOUT_SECONDS))
      )
    })

  /** Whether the newest run of the schedule is still in the outbox (queued, running, or waiting for a retry). */
  const previousPending = (schedule: Schedule) =>
    schedule.last_run === null
      ? Effect.succeed(false)
      : outbox.find(schedule.last_run.execution_id).pipe(Effect.map(Option.isSome))

  /** Ends the due tick(s) of one schedule, as of `now` (the store's clock). */
  const fire = (schedule: Schedule, now: number) =>
    Effect.gen(function*() {
      const due = schedule.next_run_at!
      const cron = compileCron(schedule.cron, schedule.timezone)
      if (Result.isFailure(cron)) {
        // Stored expressions were checked when written; a zone the runtime no longer knows stops it.
        yield* Effect.logError(`schedule ${schedule.id} stopped: ${cron.failure.reason}`)
        return yield* transactions.atomically(
          schedules.advance(schedule.id, due, { next_run_at: null, skipped: 1, fired: null })
        )
      }
      const plan = planTicks(cron.success, { due: Date.parse(due), now, missed: schedule.missed, graceMs, maxCatchUp })
      let ticks = plan.fire
      if (schedule.overlap === "skip" && ticks.length > 0) {
        // The first tick waits for nothing if the previous run is done; each later one would
        // overlap the one before it.
        ticks = ticks.slice(0, (yield* previousPending(schedule)) ? 0 : 1)
      }
      const overlapped = plan.fire.length - ticks.length
      const lease = ticks.length > 0 ? leaseSeconds(yield* timeoutOf(schedule.script_id)) : 0
      const jobs = ticks.map((tick) =>
        scheduleJob(schedule, { id: uuidv7() as ExecutionId, scheduledAt: tick, firedAt: now, leaseSeconds: lease })
      )
      const newest = jobs.at(-1)
      const advanced = yield* transactions.atomically(Effect.gen(function*() {
        const moved = yield* schedules.advance(schedule.id, due, {
          next_run_at: plan.next === null ? null : iso(plan.next),
          skipped: plan.skipped + overlapped,
          fired: newest === undefined
            ? null
            : { execution_id: newest.id, scheduled_at: newest.payload.event.scheduled_at, fired_at: iso(now) }
        })
        if (moved && jobs.length > 0) yield* outbox.enqueueAll(jobs)
        return moved
      }))
      if (!advanced) return
      yield* Metric.update(Metrics.scheduleRuns, jobs.length)
      for (const tick of ticks) yield* Metric.update(Metrics.scheduleLag, (now - tick) / 1000)
      if (plan.skipped > 0) {
        yield* Metric.update(Metric.withAttributes(Metrics.scheduleSkippedTicks, { reason: "missed" }), plan.skipped)
        yield* Effect.logInfo(
          `schedule ${schedule.name} (${schedule.id}): ${plan.skipped} missed tick(s) skipped (missed: ${schedule.missed})`
        )
      }
      if (overlapped > 0) {
        yield* Metric.update(Metric.withAttributes(Metrics.scheduleSkippedTicks, { reason: "overlap" }), overlapped)
        yield* Effect.logInfo(
          `schedule ${schedule.name} (${schedule.id}): ${overlapped} tick(s) skipped, its previous run not done (overlap: skip)`
        )
      }
    })

  /** One look: fire what is due, then sleep until the next tick or a change, whichever comes first. */
  const cycle = Effect.gen(function*() {
    const { schedules: due, now, nextDueAt } = yield* schedules.due(DUE_BATCH)
    for (const schedule of due) yield* fire(schedule, now)
    // What was fired has moved on (and someone else may have moved what was not): look again.
    if (due.length > 0) return
    yield* wake.wait(nextDueAt === null ? undefined : Duration.millis(Math.max(0, nextDueAt - now)))
  })

  /** Cycles forever; a failure (database away) restarts it after a growing, jittered pause. */
  const supervised = restartingLoop("scheduler", cycle)

  yield* supervised.pipe(Effect.forkScoped)
}))
