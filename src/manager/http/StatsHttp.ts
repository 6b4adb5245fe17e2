import { Clock, Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { ExecutionLog } from "../../domain/ExecutionLog.ts"
import { OutboxRepo } from "../../domain/OutboxRepo.ts"
import { refusalsSince } from "../../orchestrator/PlatformMetrics.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, requireRole, visibleApps } from "./authorize.ts"

const MINUTE_MS = 60_000
/** The overview's minutes: the last hour's, the current (partial) one last. */
const MINUTES = 60

/**
 * `GET /api/admin/stats?app=`: the dashboard's overview of the caller's apps (admins: all; one app
 * with `app`) over the last hour, by minute; one read of the execution log, one of the outbox.
 */
export const StatsHttp = HttpApiBuilder.group(
  AdminApi,
  "stats",
  Effect.fn(function*(handlers) {
    const executions = yield* ExecutionLog
    const outbox = yield* OutboxRepo
    const apps = yield* AppRepo
    return handlers.handle("get", ({ query }) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const appIds = query.app === undefined
          ? visibleApps(me)
          : [yield* manageableApp(query.app).pipe(Effect.provideService(AppRepo, apps))]
        const now = yield* Clock.currentTimeMillis
        const from = Math.floor(now / MINUTE_MS) * MINUTE_MS - (MINUTES - 1) * MINUTE_MS
        const [minutes, queue, refusals] = yield* Effect.all([
          executions.minuteStats({ from: new Date(from), appIds }),
          outbox.stats,
          refusalsSince(from)
        ])
        const byMinute = new Map(minutes.map((minute) => [minute.at, minute]))
        return {
          from: new Date(from).toISOString(),
          to: new Date(now).toISOString(),
          minutes: Array.from({ length: MINUTES }, (_, i) => {
            const at = from + i * MINUTE_MS
            const minute = byMinute.get(at)
            return {
              at: new Date(at).toISOString(),
              outcomes: minute?.outcomes ?? {},
              p95_ms: minute?.p95Ms ?? null,
              rejected_503: refusals.get(at) ?? 0,
              outbox_wait_ms: minute?.waitMs ?? null
            }
          }),
          outbox: {
            depth: queue.rows,
            due: queue.due,
            oldest_due_age_seconds: queue.oldestDueAgeMs / 1000
          },
          rejected_503: [...refusals.values()].reduce((sum, n) => sum + n, 0)
        }
      }).pipe(apiErrors))
  })
)
