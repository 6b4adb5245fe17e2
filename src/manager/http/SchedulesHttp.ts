import { Clock, Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { ScheduleNotFound } from "../../domain/Errors.ts"
import { ExecutionLog } from "../../domain/ExecutionLog.ts"
import { OutboxRepo } from "../../domain/OutboxRepo.ts"
import type { ScheduleRunStatus } from "../../domain/Schedule.ts"
import { ScheduleRepo } from "../../domain/ScheduleRepo.ts"
import { scheduleDetail } from "../scheduleJobs.ts"
import { Schedules } from "../Schedules.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, manageableListing, requireRole, seesApp } from "./authorize.ts"

/**
 * `/api/admin/schedules`, for admins and the app's developers. A schedule runs a script of its app
 * at each tick of its cron expression, as whoever last wrote it. Writing (and running one now) is
 * the `Schedules` service's; `GET /{id}` adds its next ticks and where its newest run is.
 */
export const SchedulesHttp = HttpApiBuilder.group(
  AdminApi,
  "schedules",
  Effect.fn(function*(handlers) {
    const schedules = yield* ScheduleRepo
    const service = yield* Schedules
    const apps = yield* AppRepo
    const outbox = yield* OutboxRepo
    const executions = yield* ExecutionLog
    const manageable = (ref: string | undefined) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    /** The caller and the schedule, if the caller may manage its app; otherwise, as if it did not exist. */
    const manageableSchedule = (id: string) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const schedule = yield* schedules.get(id)
        if (!seesApp(me, schedule.app_id)) return yield* new ScheduleNotFound({ id })
        return { me, schedule }
      })

    /** Where an execution is: still in the outbox (claimed: running), or ended (its record's status). */
    const runStatus = (executionId: string) =>
      Effect.gen(function*() {
        const queued = yield* outbox.find(executionId)
        if (Option.isSome(queued)) {
          const { claimed_by, claimed_until } = queued.value
          const running = claimed_by !== null && claimed_until !== null &&
            Date.parse(claimed_until) > (yield* Clock.currentTimeMillis)
          return running ? "running" : "queued"
        }
        return yield* executions.get(executionId).pipe(
          Effect.map((record): ScheduleRunStatus => record.status),
          Effect.catchTag("ExecutionNotFound", () => Effect.succeed<ScheduleRunStatus>("unknown"))
        )
      })

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(payload.app)
          return yield* service.create(yield* requireRole("admin", "developer"), appId, payload)
        }).pipe(apiErrors))
      .handle(
        "list",
        ({ query }) =>
          manageableListing(query.app, schedules.list).pipe(Effect.provideService(AppRepo, apps), apiErrors)
      )
      .handle("get", ({ params }) =>
        manageableSchedule(params.id).pipe(
          Effect.flatMap(({ schedule }) => scheduleDetail(schedule, runStatus)),
          apiErrors
        ))
      .handle("update", ({ params, payload }) =>
        manageableSchedule(params.id).pipe(
          Effect.flatMap(({ me, schedule }) => service.update(me, schedule, payload)),
          apiErrors
        ))
      .handle("delete", ({ params }) =>
        manageableSchedule(params.id).pipe(
          Effect.flatMap(({ me, schedule }) => service.delete(me, schedule)),
          apiErrors
        ))
      .handle("run", ({ params }) =>
        manageableSchedule(params.id).pipe(
          Effect.flatMap(({ me, schedule }) => service.runNow(me, schedule)),
          Effect.map(({ execution_id, accepted_at }) => ({ execution_id, accepted_at })),
          apiErrors
        ))
  })
)
