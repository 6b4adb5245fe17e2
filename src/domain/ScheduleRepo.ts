import { Context, type Effect } from "effect"
import type { PersistenceError, ScheduleNameTaken, ScheduleNotFound } from "./Errors.ts"
import type { NewSchedule, Schedule, ScheduleAdvance, ScheduleFiring, SchedulePatch } from "./Schedule.ts"

/** What the scheduler finds when it wakes, by the store's clock (one clock for every process). */
export interface DueSchedules {
  /** Enabled schedules whose `next_run_at` has come, earliest first. */
  readonly schedules: ReadonlyArray<Schedule>
  /** The store's time now (epoch ms). */
  readonly now: number
  /** The earliest `next_run_at` still to come (epoch ms), or `null` when no schedule is enabled. */
  readonly nextDueAt: number | null
}

/**
 * Cron schedules: `(app, name) → script` at each tick, run as their registrant. Both scripts
 * belong to the schedule's app.
 */
export class ScheduleRepo extends Context.Service<ScheduleRepo, {
  /** Names are unique within an app. */
  readonly create: (schedule: NewSchedule) => Effect.Effect<Schedule, ScheduleNameTaken | PersistenceError>
  /** Every schedule, or one app's; oldest first. */
  readonly list: (appId?: string) => Effect.Effect<ReadonlyArray<Schedule>, PersistenceError>
  readonly get: (id: string) => Effect.Effect<Schedule, ScheduleNotFound | PersistenceError>
  /** Changes the fields given, sets the registrant and `updated_at`. */
  readonly update: (
    id: string,
    patch: SchedulePatch
  ) => Effect.Effect<Schedule, ScheduleNotFound | ScheduleNameTaken | PersistenceError>
  readonly delete: (id: string) => Effect.Effect<void, ScheduleNotFound | PersistenceError>
  /**
   * For a script that is being deleted: removes the schedules that run it, and takes it off the
   * schedules it handles dead letters for (they keep running, without a handler).
   */
  readonly deleteForScript: (scriptId: string) => Effect.Effect<void, PersistenceError>
  /** Up to `limit` due schedules, and when the next one falls due. */
  readonly due: (limit: number) => Effect.Effect<DueSchedules, PersistenceError>
  /**
   * Ends a due tick: moves `next_run_at` on from `expected`, adds `skipped`, and notes the run
   * `fired` (if any) as the newest, only if `next_run_at` is still `expected` and the schedule
   * enabled: `false` when another process (or an update) moved it first. Joins the transaction
   * open around it, so the tick's outbox row commits with it or not at all.
   */
  readonly advance: (
    id: string,
    expected: string,
    outcome: ScheduleAdvance
  ) => Effect.Effect<boolean, PersistenceError>
  /** Notes a run asked for now as the newest (its tick stays); `false` when the schedule is gone. */
  readonly recordRun: (id: string, fired: ScheduleFiring) => Effect.Effect<boolean, PersistenceError>
}>()("picloud/domain/ScheduleRepo") {}
