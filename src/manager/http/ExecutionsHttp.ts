import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, BadRequest, NotFound } from "../../domain/api/ApiError.ts"
import { ExecutionLog } from "../../domain/ExecutionLog.ts"
import type { ScriptId } from "../../domain/Ids.ts"
import { internalError } from "./internalError.ts"

const DEFAULT_PAGE_SIZE = 50

/** Handlers of `/api/admin/executions`: newest first, paginated with an opaque cursor. */
export const ExecutionsHttp = HttpApiBuilder.group(
  AdminApi,
  "executions",
  Effect.fn(function*(handlers) {
    const executions = yield* ExecutionLog
    return handlers
      .handle("list", ({ query }) =>
        executions.list({
          scriptId: query.script as ScriptId | undefined,
          limit: query.limit ?? DEFAULT_PAGE_SIZE,
          cursor: query.cursor
        }).pipe(
          Effect.catchTags({
            InvalidCursor: () => Effect.fail(apiError(BadRequest, "bad_request", "invalid cursor")),
            PersistenceError: internalError
          })
        ))
      .handle("get", ({ params }) =>
        executions.get(params.id).pipe(
          Effect.catchTags({
            ExecutionNotFound: (e) => Effect.fail(apiError(NotFound, "execution_not_found", `no execution ${e.id}`)),
            PersistenceError: internalError
          })
        ))
  })
)
