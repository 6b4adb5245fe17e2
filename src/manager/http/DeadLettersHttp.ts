import { Clock, Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi, DEFAULT_PAGE_SIZE } from "../../domain/api/AdminApi.ts"
import { apiError, NotFound } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import type { ExecutionId } from "../../domain/Ids.ts"
import { OutboxRepo } from "../../domain/OutboxRepo.ts"
import { uuidv7 } from "../../domain/uuidv7.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, requireRole, seesApp, visibleApps } from "./authorize.ts"

const deadLetterNotFound = (id: string) => apiError(NotFound, "dead_letter_not_found", `no dead letter ${id}`)

/**
 * `/api/admin/dead-letters`, for admins and the app's developers: the async executions that used up
 * their attempts, with their requests; a replay enqueues the request again as a new execution, with
 * the same script, retry policy and caller.
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
          return { items: yield* outbox.deadLetters({ appIds, limit: query.limit ?? DEFAULT_PAGE_SIZE }) }
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
