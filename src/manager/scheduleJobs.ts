import { Effect, Option, Result } from "effect"
import type { PersistenceError } from "../domain/Errors.ts"
import { rootLineage } from "../domain/Execution.ts"
import type { ExecutionId } from "../domain/Ids.ts"
import type { ScheduleJob } from "../domain/OutboxRepo.ts"
import { NEXT_RUNS_SHOWN, type Schedule, type ScheduleDetail, type ScheduleRunStatus } from "../domain/Schedule.ts"
import { compileCron, ticksFrom } from "../domain/ScheduleCron.ts"

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * The outbox row of one run of a schedule, for the tick `scheduledAt`, fired at `firedAt` (also
 * when it was accepted): a root (depth 0, as an HTTP request is), run as the registrant, with the
 * schedule's retry policy and dead-letter handler.
 */
export const scheduleJob = (
  schedule: Schedule,
  options: {
    readonly id: ExecutionId
    readonly scheduledAt: number
    readonly firedAt: number
    readonly leaseSeconds: number
  }
): ScheduleJob => ({
  id: options.id,
  app_id: schedule.app_id,
  script_id: schedule.script_id,
  kind: "schedule",
  payload: {
    event: {
      schedule_id: schedule.id,
      name: schedule.name,
      scheduled_at: iso(options.scheduledAt),
      fired_at: iso(options.firedAt)
    },
    registrant_user_id: schedule.registrant_user_id
  },
  retry: schedule.retry,
  lease_seconds: options.leaseSeconds,
  accepted_at: iso(options.firedAt),
  lineage: rootLineage(options.id),
  dead_letter_script_id: schedule.dead_letter_script_id
})

/** The next `NEXT_RUNS_SHOWN` ticks from `next_run_at` (none while disabled). */
export const nextRuns = (schedule: Schedule): ReadonlyArray<string> => {
  if (schedule.next_run_at === null) return []
  const cron = compileCron(schedule.cron, schedule.timezone)
  if (Result.isFailure(cron)) return [schedule.next_run_at]
  return ticksFrom(cron.success, Date.parse(schedule.next_run_at), NEXT_RUNS_SHOWN).map(iso)
}

/**
 * A schedule as `GET /schedules/{id}` shows it: its next ticks, and its newest run with that run's
 * status (`runStatus` reads it where it is: the outbox, or the execution log) and lag.
 */
export const scheduleDetail = (
  schedule: Schedule,
  runStatus: (executionId: string) => Effect.Effect<ScheduleRunStatus, PersistenceError>
): Effect.Effect<ScheduleDetail, PersistenceError> =>
  Effect.gen(function*() {
    const last = Option.fromNullishOr(schedule.last_run)
    const lastRun = Option.isNone(last) ? null : {
      ...last.value,
      status: yield* runStatus(last.value.execution_id),
      lag_ms: Date.parse(last.value.fired_at) - Date.parse(last.value.scheduled_at)
    }
    return { ...schedule, last_run: lastRun, next_runs: nextRuns(schedule) }
  })
