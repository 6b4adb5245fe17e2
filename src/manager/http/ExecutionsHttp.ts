import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi, DEFAULT_PAGE_SIZE } from "../../domain/api/AdminApi.ts"
import { apiError, BadRequest } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { ExecutionNotFound } from "../../domain/Errors.ts"
import { attemptOf } from "../../domain/Execution.ts"
import { ExecutionLog } from "../../domain/ExecutionLog.ts"
import type { Principal } from "../../domain/Identity.ts"
import type { ScriptId } from "../../domain/Ids.ts"
import { OutboxRepo } from "../../domain/OutboxRepo.ts"
import { ScriptRepo } from "../../domain/ScriptRepo.ts"
import { ExecutionTail } from "../../orchestrator/ExecutionTail.ts"
import { buildTree, MAX_TREE_NODES } from "../executionTree.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, requireRole, seesApp, visibleApps } from "./authorize.ts"
import { eventStreamResponse } from "./eventStream.ts"

/**
 * Handlers of `/api/admin/executions`: newest first, paginated with an opaque cursor; a developer
 * sees the executions of its apps only. `/executions/{id}/tree` is the causal tree below one: the
 * executions its KV writes triggered, their dead-letter handlers, and so on, with the rows still
 * queued for them, at most `MAX_TREE_NODES`. `/executions/{id}` shows its attempts;
 * `/executions/stream` is the live tail (Server-Sent Events) of the caller's apps.
 */
export const ExecutionsHttp = HttpApiBuilder.group(
  AdminApi,
  "executions",
  Effect.fn(function*(handlers) {
    const executions = yield* ExecutionLog
    const outbox = yield* OutboxRepo
    const scripts = yield* ScriptRepo
    const tail = yield* ExecutionTail
    const apps = yield* AppRepo

    /** The execution, if the caller may see its app; otherwise, as if it did not exist. */
    const visible = (id: string) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const execution = yield* executions.get(id)
        if (!seesApp(me, execution.app_id)) return yield* new ExecutionNotFound({ id })
        return { me, execution }
      })

    /** The apps a listing covers: the one named by `app` (which the caller must manage), or all it sees. */
    const appsOf = (me: Principal, app: string | undefined) =>
      app === undefined
        ? Effect.succeed(visibleApps(me))
        : manageableApp(app).pipe(Effect.map((id) => [id]), Effect.provideService(AppRepo, apps))

    /** The names of scripts by id (deleted ones have none). */
    const scriptNames = (ids: Iterable<string>) =>
      Effect.forEach(new Set(ids), (id) =>
        scripts.find(id as ScriptId).pipe(
          Effect.map((script): readonly [string, string] => [id, script.name]),
          Effect.catchTag("ScriptNotFound", () => Effect.succeed([id, ""] as const))
        )).pipe(Effect.map((entries) => new Map(entries)))

    return handlers
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          if (query.key !== undefined && query.app === undefined) {
            return yield* apiError(BadRequest, "bad_request", "key needs app: KV keys are per app")
          }
          return yield* executions.list({
            scriptId: query.script as ScriptId | undefined,
            invocation: query.invocation,
            triggerId: query.trigger,
            kvKey: query.key,
            status: query.status,
            appIds: yield* appsOf(me, query.app),
            limit: query.limit ?? DEFAULT_PAGE_SIZE,
            cursor: query.cursor
          })
        }).pipe(apiErrors))
      .handle("stream", ({ query, headers }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const appIds = yield* appsOf(me, query.app)
          const events = yield* tail.follow(
            { appIds, scriptId: query.script, status: query.status },
            query.since ?? headers["last-event-id"]
          )
          return eventStreamResponse(events)
        }).pipe(apiErrors))
      .handle("get", ({ params }) =>
        Effect.gen(function*() {
          const { execution } = yield* visible(params.id)
          const last = attemptOf(execution)
          const retried = yield* executions.attempts(execution.id)
          return {
            ...execution,
            attempt_count: execution.attempts,
            attempts: [...retried.filter((attempt) => attempt.attempt < last.attempt), last]
          }
        }).pipe(apiErrors))
      .handle("tree", ({ params }) =>
        Effect.gen(function*() {
          const { me, execution } = yield* visible(params.id)
          const below = yield* executions.descendants(execution.id, MAX_TREE_NODES)
          // A trigger runs in its writer's app, a handler in its dead execution's: the tree stays in
          // one app. Nodes of another app, if ever, are left out with what hangs below them.
          const [root, ...rest] = below.nodes.filter((node) => seesApp(me, node.app_id))
          if (root === undefined || root.id !== execution.id) return yield* new ExecutionNotFound({ id: params.id })
          const records = [root, ...rest] as const
          const room = MAX_TREE_NODES - records.length
          const queued = (yield* outbox.queuedChildren(records.map((node) => node.id), room + 1))
            .filter((job) => seesApp(me, job.app_id))
          const shown = queued.slice(0, room)
          const known = new Map(records.map((node) => [node.script_id as string, node.script_name]))
          const names = new Map([
            ...known,
            ...(yield* scriptNames(shown.map((job) => job.script_id).filter((id) => !known.has(id))))
          ])
          const tree = buildTree(records, shown, names)
          return { ...tree, truncated: below.truncated || queued.length > room }
        }).pipe(apiErrors))
  })
)
