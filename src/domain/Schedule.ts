import { Schema } from "effect"
import { RetryPolicy, RetryPolicyInput } from "./RetryPolicy.ts"
import { cronExpressionProblem, timeZoneOf } from "./ScheduleCron.ts"
import { ScriptName } from "./Script.ts"
import { Ref, StorableText } from "./StorableText.ts"

/**
 * What happens to ticks missed while the platform was down (or picked up later than
 * `PICLOUD_SCHEDULE_GRACE`): `skip` them (the next tick on time runs), run `once` for all of them,
 * or run `all` of them (at most `PICLOUD_MAX_CATCH_UP`).
 */
export const MissedPolicy = Schema.Literals(["skip", "once", "all"])
export type MissedPolicy = typeof MissedPolicy.Type

/** `skip`: a tick whose previous run of the schedule is still queued or running is skipped. */
export const OverlapPolicy = Schema.Literals(["allow", "skip"])
export type OverlapPolicy = typeof OverlapPolicy.Type

/** A cron expression: 5 fields, or 6 with seconds first, as Effect's `Cron` parses them. */
export const CronExpression = StorableText(256).check(
  Schema.makeFilter((expression: string) => cronExpressionProblem(expression) ?? true)
)

/** An IANA time zone name. */
export const TimeZoneName = StorableText(64).check(
  Schema.makeFilter((name: string) => {
    const zone = timeZoneOf(name)
    return zone._tag === "Failure" ? zone.failure : true
  })
)

/** A schedule's name: unique in its app, shaped like a script's name. */
export const ScheduleName = ScriptName

/** A run a schedule started: its execution, the tick it ran for and when the scheduler fired it. */
export const ScheduleFiring = Schema.Struct({
  execution_id: Schema.String,
  scheduled_at: Schema.String,
  fired_at: Schema.String
})
export type ScheduleFiring = typeof ScheduleFiring.Type

/**
 * A cron schedule: at each tick of `cron` in `timezone`, `script_id` runs as an async execution
 * (retried by `retry`, dead letters handled by `dead_letter_script_id`), as `registrant_user_id`,
 * whoever last wrote the schedule. `next_run_at` is the next tick (`null` while disabled),
 * `skipped_ticks` counts ticks that got no run (missed, or skipped for overlap), `last_run` is the
 * newest run it started.
 */
export const Schedule = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  name: Schema.String,
  cron: Schema.String,
  timezone: Schema.String,
  script_id: Schema.String,
  retry: RetryPolicy,
  dead_letter_script_id: Schema.NullOr(Schema.String),
  missed: MissedPolicy,
  overlap: OverlapPolicy,
  enabled: Schema.Boolean,
  registrant_user_id: Schema.String,
  next_run_at: Schema.NullOr(Schema.String),
  skipped_ticks: Schema.Int,
  last_run: Schema.NullOr(ScheduleFiring),
  created_at: Schema.String,
  updated_at: Schema.String
})
export type Schedule = typeof Schedule.Type

/** What the repository stores: scripts and app resolved, defaults applied, the first tick computed. */
export type NewSchedule = Omit<Schedule, "id" | "skipped_ticks" | "last_run" | "created_at" | "updated_at">

/** What an update may change; the registrant always changes, to whoever writes. */
export type SchedulePatch =
  & Partial<
    Pick<
      Schedule,
      | "name"
      | "cron"
      | "timezone"
      | "script_id"
      | "retry"
      | "dead_letter_script_id"
      | "missed"
      | "overlap"
      | "enabled"
      | "next_run_at"
    >
  >
  & Pick<Schedule, "registrant_user_id">

/** How the scheduler ends a due schedule's tick(s): the next tick, the ticks skipped, the run it started (if any). */
export interface ScheduleAdvance {
  readonly next_run_at: string | null
  readonly skipped: number
  readonly fired: ScheduleFiring | null
}

export const CreateSchedule = Schema.Struct({
  /** The app's name or id; the default app when absent. */
  app: Schema.optionalKey(Ref),
  name: ScheduleName,
  cron: CronExpression,
  /** `UTC` when absent. */
  timezone: Schema.optionalKey(TimeZoneName),
  /** The script's name (in the app) or id. */
  script: Ref,
  /** Fields left out take their defaults (exponential from 1 s, capped at 5 min, 5 attempts, jitter). */
  retry: Schema.optionalKey(RetryPolicyInput),
  /** A script of the same app that handles the schedule's dead letters; none when absent or null. */
  dead_letter_script: Schema.optionalKey(Schema.NullOr(Ref)),
  /** `skip` when absent. */
  missed: Schema.optionalKey(MissedPolicy),
  /** `allow` when absent. */
  overlap: Schema.optionalKey(OverlapPolicy),
  /** `true` when absent. */
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type CreateSchedule = typeof CreateSchedule.Type

/**
 * `PATCH`: each field given replaces the schedule's (`retry` as a whole; `dead_letter_script: null`
 * removes the handler). A new `cron` or `timezone`, or enabling it, computes the next tick afresh
 * from now. The app cannot change.
 */
export const UpdateSchedule = Schema.Struct({
  name: Schema.optionalKey(ScheduleName),
  cron: Schema.optionalKey(CronExpression),
  timezone: Schema.optionalKey(TimeZoneName),
  script: Schema.optionalKey(Ref),
  retry: Schema.optionalKey(RetryPolicyInput),
  dead_letter_script: Schema.optionalKey(Schema.NullOr(Ref)),
  missed: Schema.optionalKey(MissedPolicy),
  overlap: Schema.optionalKey(OverlapPolicy),
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type UpdateSchedule = typeof UpdateSchedule.Type

/**
 * Where the newest run of a schedule is: `queued` (in the outbox, waiting for its first attempt
 * or a retry), `running`, an execution's final status, or `unknown` once its record is gone
 * (retention).
 */
export const ScheduleRunStatus = Schema.Literals([
  "queued",
  "running",
  "succeeded",
  "failed",
  "dead_lettered",
  "depth_exceeded",
  "unknown"
])
export type ScheduleRunStatus = typeof ScheduleRunStatus.Type

/** The newest run, as `GET /schedules/{id}` shows it: with its status and its lag (fired − scheduled). */
export const ScheduleLastRun = Schema.Struct({
  ...ScheduleFiring.fields,
  status: ScheduleRunStatus,
  lag_ms: Schema.Number
})
export type ScheduleLastRun = typeof ScheduleLastRun.Type

/** How many upcoming ticks `GET /schedules/{id}` shows. */
export const NEXT_RUNS_SHOWN = 5

/** A schedule as `GET /schedules/{id}` shows it: its next ticks and the state of its newest run. */
export const ScheduleDetail = Schema.Struct({
  ...Schedule.fields,
  last_run: Schema.NullOr(ScheduleLastRun),
  next_runs: Schema.Array(Schema.String)
})
export type ScheduleDetail = typeof ScheduleDetail.Type
