import { Clock, Context, Effect, Layer, Option, Result } from "effect"
import {
  AppNotFound,
  type PersistenceError,
  ScheduleInvalid,
  type ScheduleNameTaken,
  ScheduleNotFound,
  ScriptNotFound
} from "../domain/Errors.ts"
import { type Principal, requireManages } from "../domain/Identity.ts"
import type { ExecutionId, ScriptId } from "../domain/Ids.ts"
import { type Accepted, leaseSeconds, OutboxRepo } from "../domain/OutboxRepo.ts"
import { withRetryDefaults } from "../domain/RetryPolicy.ts"
import type { CreateSchedule, Schedule, SchedulePatch, UpdateSchedule } from "../domain/Schedule.ts"
import { compileCron, DEFAULT_TIME_ZONE, nextTick, normalizeCron, timeZoneOf } from "../domain/ScheduleCron.ts"
import { ScheduleRepo } from "../domain/ScheduleRepo.ts"
import { scriptOfApp, ScriptRepo } from "../domain/ScriptRepo.ts"
import { Transactions } from "../domain/Transactions.ts"
import { uuidv7 } from "../domain/uuidv7.ts"
import { scheduleJob } from "./scheduleJobs.ts"
import { SchedulerWake } from "./SchedulerWake.ts"

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Writing schedules. The writer must manage the schedule's app (else the app does not exist for
 * it) and becomes the schedule's registrant, whom it runs as: on create and on every update. Both
 * scripts must be the app's. A new cron or time zone, or enabling it, sets the next tick afresh
 * from now (no catch-up for a time it did not have); disabling clears it. The scheduler is woken
 * once the change is stored (and other processes' by the store's NOTIFY).
 */
export class Schedules extends Context.Service<Schedules, {
  readonly create: (
    registrant: Principal,
    appId: string,
    input: CreateSchedule
  ) => Effect.Effect<
    Schedule,
    AppNotFound | ScheduleInvalid | ScriptNotFound | ScheduleNameTaken | PersistenceError
  >
  readonly update: (
    registrant: Principal,
    schedule: Schedule,
    input: UpdateSchedule
  ) => Effect.Effect<
    Schedule,
    AppNotFound | ScheduleInvalid | ScriptNotFound | ScheduleNameTaken | ScheduleNotFound | PersistenceError
  >
  readonly delete: (
    principal: Principal,
    schedule: Schedule
  ) => Effect.Effect<void, AppNotFound | ScheduleNotFound | PersistenceError>
  /**
   * One run now (its tick: now), as the schedule's registrant, noted as its newest run; its ticks
   * are unchanged, and so is its registrant (`principal` must manage the app).
   */
  readonly runNow: (
    principal: Principal,
    schedule: Schedule
  ) => Effect.Effect<Accepted, AppNotFound | ScheduleNotFound | ScriptNotFound | PersistenceError>
}>()("picloud/manager/Schedules") {
  static readonly layer = Layer.effect(
    Schedules,
    Effect.gen(function*() {
      const schedules = yield* ScheduleRepo
      const scripts = yield* ScriptRepo
      const outbox = yield* OutboxRepo
      const transactions = yield* Transactions
      const wake = yield* SchedulerWake

      /** The id of the script `ref` names in the app. */
      const scriptOf = (appId: string, ref: string) =>
        scriptOfApp(scripts, appId, ref).pipe(Effect.map((script) => script.id))

      /** The expression as stored, the zone by its canonical name, and the first tick after now (if enabled). */
      const timing = Effect.fnUntraced(function*(cron: string, timezone: string, enabled: boolean) {
        const zone = timeZoneOf(timezone)
        if (Result.isFailure(zone)) return yield* new ScheduleInvalid({ field: "timezone", reason: zone.failure })
        const expression = normalizeCron(cron)
        const compiled = compileCron(expression, zone.success.id)
        if (Result.isFailure(compiled)) return yield* new ScheduleInvalid(compiled.failure)
        const next = enabled ? nextTick(compiled.success, yield* Clock.currentTimeMillis) : Option.none()
        return {
          cron: expression,
          timezone: zone.success.id,
          next_run_at: Option.match(next, { onNone: () => null, onSome: iso })
        }
      })

      return Schedules.of({
        create: Effect.fn("Schedules.create")(function*(registrant, appId, input) {
          yield* requireManages(registrant, appId)
          const enabled = input.enabled ?? true
          const times = yield* timing(input.cron, input.timezone ?? DEFAULT_TIME_ZONE, enabled)
          const script_id = yield* scriptOf(appId, input.script)
          const deadLetter = input.dead_letter_script ?? null
          const schedule = yield* schedules.create({
            app_id: appId,
            name: input.name,
            ...times,
            script_id,
            retry: withRetryDefaults(input.retry),
            dead_letter_script_id: deadLetter === null ? null : yield* scriptOf(appId, deadLetter),
            missed: input.missed ?? "skip",
            overlap: input.overlap ?? "allow",
            enabled,
            registrant_user_id: registrant.user_id
          })
          yield* wake.signal
          return schedule
        }),
        update: Effect.fn("Schedules.update")(function*(registrant, schedule, input) {
          yield* requireManages(registrant, schedule.app_id)
          const patch: { -readonly [K in keyof SchedulePatch]: SchedulePatch[K] } = {
            registrant_user_id: registrant.user_id
          }
          const enabled = input.enabled ?? schedule.enabled
          const times = yield* timing(input.cron ?? schedule.cron, input.timezone ?? schedule.timezone, enabled)
          // The next tick moves only when the timing changes: a PATCH of anything else (or of the
          // same expression) at the moment a tick falls due must not make it skip that tick.
          if (times.cron !== schedule.cron || times.timezone !== schedule.timezone || enabled !== schedule.enabled) {
            Object.assign(patch, times)
            patch.enabled = enabled
          }
          if (input.name !== undefined) patch.name = input.name
          if (input.script !== undefined) patch.script_id = yield* scriptOf(schedule.app_id, input.script)
          if (input.dead_letter_script !== undefined) {
            patch.dead_letter_script_id = input.dead_letter_script === null
              ? null
              : yield* scriptOf(schedule.app_id, input.dead_letter_script)
          }
          if (input.retry !== undefined) patch.retry = withRetryDefaults(input.retry)
          if (input.missed !== undefined) patch.missed = input.missed
          if (input.overlap !== undefined) patch.overlap = input.overlap
          const updated = yield* schedules.update(schedule.id, patch)
          yield* wake.signal
          return updated
        }),
        delete: Effect.fn("Schedules.delete")(function*(principal, schedule) {
          yield* requireManages(principal, schedule.app_id)
          yield* schedules.delete(schedule.id)
        }),
        runNow: Effect.fn("Schedules.runNow")(function*(principal, schedule) {
          yield* requireManages(principal, schedule.app_id)
          const script = yield* scripts.find(schedule.script_id as ScriptId)
          const now = yield* Clock.currentTimeMillis
          const job = scheduleJob(schedule, {
            id: uuidv7() as ExecutionId,
            scheduledAt: now,
            firedAt: now,
            leaseSeconds: leaseSeconds(script.timeout_seconds)
          })
          yield* transactions.atomically(Effect.gen(function*() {
            const fired = { execution_id: job.id, scheduled_at: iso(now), fired_at: iso(now) }
            if (!(yield* schedules.recordRun(schedule.id, fired))) {
              return yield* new ScheduleNotFound({ id: schedule.id })
            }
            yield* outbox.enqueueAll([job])
          }))
          return { execution_id: job.id, accepted_at: job.accepted_at, repeated: false }
        })
      })
    })
  )
}
