import { Clock, Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { ScheduleNameTaken, ScheduleNotFound } from "../domain/Errors.ts"
import type { Schedule } from "../domain/Schedule.ts"
import { ScheduleRepo } from "../domain/ScheduleRepo.ts"

/**
 * Schedules in memory, oldest first, with the SQL layer's rules (names unique per app; a script
 * being deleted takes its schedules and is cleared as a handler). Due times are on the Effect
 * `Clock`, so `TestClock` drives the scheduler.
 */
export const layer = Layer.sync(ScheduleRepo, () => {
  const schedules = new Map<string, Schedule>()
  const now = () => new Date().toISOString()
  const find = (id: string) => schedules.get(id.toLowerCase())
  const named = (appId: string, name: string, except?: string) =>
    [...schedules.values()].some((s) => s.app_id === appId && s.name === name && s.id !== except)

  return ScheduleRepo.of({
    create: Effect.fn("ScheduleRepo.create")(function*(input) {
      if (named(input.app_id, input.name)) return yield* new ScheduleNameTaken({ name: input.name })
      const at = now()
      const schedule: Schedule = {
        ...input,
        id: randomUUID(),
        skipped_ticks: 0,
        last_run: null,
        created_at: at,
        updated_at: at
      }
      schedules.set(schedule.id, schedule)
      return schedule
    }),
    list: Effect.fn("ScheduleRepo.list")(function*(appId) {
      return [...schedules.values()].filter((s) => appId === undefined || s.app_id === appId)
    }),
    get: Effect.fn("ScheduleRepo.get")(function*(id) {
      const schedule = find(id)
      if (schedule === undefined) return yield* new ScheduleNotFound({ id })
      return schedule
    }),
    update: Effect.fn("ScheduleRepo.update")(function*(id, patch) {
      const schedule = find(id)
      if (schedule === undefined) return yield* new ScheduleNotFound({ id })
      if (patch.name !== undefined && named(schedule.app_id, patch.name, schedule.id)) {
        return yield* new ScheduleNameTaken({ name: patch.name })
      }
      const updated: Schedule = { ...schedule, ...patch, updated_at: now() }
      schedules.set(schedule.id, updated)
      return updated
    }),
    delete: Effect.fn("ScheduleRepo.delete")(function*(id) {
      const schedule = find(id)
      if (schedule === undefined) return yield* new ScheduleNotFound({ id })
      schedules.delete(schedule.id)
    }),
    deleteForScript: Effect.fn("ScheduleRepo.deleteForScript")(function*(scriptId) {
      for (const [id, schedule] of schedules) {
        if (schedule.script_id === scriptId) schedules.delete(id)
        else if (schedule.dead_letter_script_id === scriptId) {
          schedules.set(id, { ...schedule, dead_letter_script_id: null, updated_at: now() })
        }
      }
    }),
    due: Effect.fn("ScheduleRepo.due")(function*(limit) {
      const at = yield* Clock.currentTimeMillis
      const timed = [...schedules.values()].flatMap((s) =>
        s.next_run_at === null ? [] : [{ schedule: s, due: Date.parse(s.next_run_at) }]
      )
      const due = timed.filter((t) => t.due <= at).sort((a, b) =>
        a.due - b.due || (a.schedule.id < b.schedule.id ? -1 : 1)
      )
      const later = timed.filter((t) => t.due > at).map((t) => t.due)
      return {
        schedules: due.slice(0, limit).map((t) => t.schedule),
        now: at,
        nextDueAt: later.length === 0 ? null : Math.min(...later)
      }
    }),
    advance: Effect.fn("ScheduleRepo.advance")(function*(id, expected, { next_run_at, skipped, fired }) {
      const schedule = find(id)
      if (
        schedule === undefined || !schedule.enabled || schedule.next_run_at === null ||
        Date.parse(schedule.next_run_at) !== Date.parse(expected)
      ) return false
      schedules.set(schedule.id, {
        ...schedule,
        next_run_at,
        skipped_ticks: schedule.skipped_ticks + skipped,
        last_run: fired ?? schedule.last_run
      })
      return true
    }),
    recordRun: Effect.fn("ScheduleRepo.recordRun")(function*(id, fired) {
      const schedule = find(id)
      if (schedule === undefined) return false
      schedules.set(schedule.id, { ...schedule, last_run: fired })
      return true
    })
  })
})
