import { Schema } from "effect"

/**
 * What a schedule's script sees as `ctx.event`: one tick (docs/ARCHITECTURE.md §5). `scheduled_at`
 * is the tick's time by the schedule's cron and time zone, `fired_at` when the scheduler picked it
 * up (their difference is the tick's lag); both ISO 8601, in UTC. A run started by
 * `POST /api/admin/schedules/{id}/run` has both at the moment it was asked for.
 */
export const ScheduleEvent = Schema.Struct({
  schedule_id: Schema.String,
  name: Schema.String,
  scheduled_at: Schema.String,
  fired_at: Schema.String
})
export type ScheduleEvent = typeof ScheduleEvent.Type
