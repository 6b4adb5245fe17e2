import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi, DEFAULT_PAGE_SIZE } from "../../domain/api/AdminApi.ts"
import { ExecutionNotFound } from "../../domain/Errors.ts"
import { ExecutionLog } from "../../domain/ExecutionLog.ts"
import type { ScriptId } from "../../domain/Ids.ts"
import { apiErrors } from "./apiErrors.ts"
import { requireRole, seesApp, visibleApps } from "./authorize.ts"

/**
 * Handlers of `/api/admin/executions`: newest first, paginated with an opaque cursor; a developer
 * sees the executions of its apps only.
 */
export const ExecutionsHttp = HttpApiBuilder.group(
  AdminApi,
  "executions",
  Effect.fn(function*(handlers) {
    const executions = yield* ExecutionLog
    return handlers
      .handle("list", ({ query }) =>
        requireRole("admin", "developer").pipe(
          Effect.flatMap((me) =>
            executions.list({
              scriptId: query.script as ScriptId | undefined,
              invocation: query.invocation,
              appIds: visibleApps(me),
              limit: query.limit ?? DEFAULT_PAGE_SIZE,
              cursor: query.cursor
            })
          ),
          apiErrors
        ))
      .handle("get", ({ params }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const execution = yield* executions.get(params.id)
          if (!seesApp(me, execution.app_id)) return yield* new ExecutionNotFound({ id: params.id })
          return execution
        }).pipe(apiErrors))
  })
)
