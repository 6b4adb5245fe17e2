import { Clock, Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi, DEFAULT_PAGE_SIZE } from "../../domain/api/AdminApi.ts"
import { apiError, NotFound } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import type { ExecutionId } from "../../domain/Ids.ts"
import { OutboxRepo } from "../../domain/OutboxRepo.ts"
import { uuidv7 } from "../../domain/uuidv7.ts"
import { encodeCursor, pageStart } from "../../orchestrator/executionCursor.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, requireRole, seesApp, visibleApps } from "./authorize.ts"

const deadLetterNotFound = (id: string) => apiError(NotFound, "dead_letter_not_found", `no dead letter ${id}`)

/**
 * `/api/admin/dead-letters`, for admins and the app's developers: the async executions that used up
 * their attempts, with their requests; a replay enqueues the request again as a new execution, with
 * the same script, retry policy and caller. `POST /dead-letters/replay` replays a list of them (at
 * most `MAX_BULK_REPLAY`), one by one, answering each id's outcome; one the caller may not see is
 * `not_found`, as if it did not exist. The listing pages with the executions' cursor (time and id).
 */
export const DeadLettersHttp = HttpApiBuilder.group(
  AdminApi,
  "deadLetters",
  Effect.fn(function*(handlers) {
    const outbox = yield* OutboxRepo
    const apps = yield* AppRepo

    /** The dead letter, if the caller may see its app; otherwise, as if it did not exist. */
    const visible = (id: string) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const found = yield* outbox.findDeadLetter(id)
        if (Option.isNone(found) || !seesApp(me, found.value.app_id)) return yield* deadLetterNotFound(id)
        return found.value
      })

    return handlers
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const appIds = query.app === undefined
            ? visibleApps(me)
            : [yield* manageableApp(query.app).pipe(Effect.provideService(AppRepo, apps))]
          const after = yield* pageStart(query.cursor)
          const limit = query.limit ?? DEFAULT_PAGE_SIZE
          const rows = yield* outbox.deadLetters({
            appIds,
            scriptId: query.script,
            resolution: query.resolution,
            after: Option.match(after, {
              onNone: () => undefined,
              onSome: ({ startedAt, id }) => ({ at: startedAt, id })
            }),
            limit: limit + 1
          })
          const items = rows.slice(0, limit)
          const last = items.at(-1)
          return {
            items,
            next_cursor: rows.length > limit && last !== undefined
              ? encodeCursor({ startedAt: last.dead_lettered_at, id: last.id })
              : null
          }
        }).pipe(apiErrors))
      .handle("replayMany", ({ payload }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const results = yield* Effect.forEach(new Set(payload.ids.map((id) => id.toLowerCase())), (id) =>
            Effect.gen(function*() {
              const found = yield* outbox.findDeadLetter(id)
              const accepted = Option.isSome(found) && seesApp(me, found.value.app_id)
                ? yield* outbox.replay(
                  id,
                  uuidv7() as ExecutionId,
                  new Date(yield* Clock.currentTimeMillis).toISOString()
                )
                : Option.none()
              return Option.match(accepted, {
                onNone: () => ({ id, outcome: "not_found" as const }),
                onSome: (job) => ({
                  id,
                  outcome: "accepted" as const,
                  execution_id: job.execution_id,
                  accepted_at: job.accepted_at
                })
              })
            }))
          return { results }
        }).pipe(apiErrors))
      .handle("get", ({ params }) => visible(params.id).pipe(apiErrors))
      .handle("replay", ({ params }) =>
        Effect.gen(function*() {
          yield* visible(params.id)
          const acceptedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
          const accepted = yield* outbox.replay(params.id, uuidv7() as ExecutionId, acceptedAt)
          if (Option.isNone(accepted)) return yield* deadLetterNotFound(params.id)
          return { execution_id: accepted.value.execution_id, accepted_at: accepted.value.accepted_at }
        }).pipe(apiErrors))
      .handle("discard", ({ params }) =>
        Effect.gen(function*() {
          yield* visible(params.id)
          if (!(yield* outbox.discard(params.id))) return yield* deadLetterNotFound(params.id)
        }).pipe(apiErrors))
  })
)
