import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { DEFAULT_APP_ID } from "../../domain/App.ts"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, NotFound } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { ScriptChanges } from "../../domain/ScriptChanges.ts"
import { ScriptRepo } from "../../domain/ScriptRepo.ts"
import { internalError } from "./internalError.ts"

const appNotFound = (ref: string) => apiError(NotFound, "app_not_found", `no app ${ref}`)

/**
 * Handlers of `/api/admin/apps`. Deleting an app that still holds scripts is refused (409) unless
 * `?force=true`, which deletes them with it; the default app cannot be deleted.
 */
export const AppsHttp = HttpApiBuilder.group(
  AdminApi,
  "apps",
  Effect.fn(function*(handlers) {
    const apps = yield* AppRepo
    const scripts = yield* ScriptRepo
    const changes = yield* ScriptChanges

    const find = (ref: string) =>
      apps.findByRef(ref).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(appNotFound(ref)), onSome: Effect.succeed }))
      )

    return handlers
      .handle("create", ({ payload }) =>
        apps.create(payload).pipe(
          Effect.catchTags({
            AppNameTaken: (e) => Effect.fail(apiError(Conflict, "app_name_taken", `an app named ${e.name} exists`)),
            PersistenceError: internalError
          })
        ))
      .handle("list", () =>
        apps.list.pipe(
          Effect.map((items) => ({ items })),
          Effect.catchTag("PersistenceError", internalError)
        ))
      .handle("get", ({ params }) => find(params.app).pipe(Effect.catchTag("PersistenceError", internalError)))
      .handle("delete", ({ params, query }) =>
        Effect.gen(function*() {
          const app = yield* find(params.app)
          if (app.id === DEFAULT_APP_ID) {
            return yield* apiError(Conflict, "app_protected", "the default app cannot be deleted")
          }
          const held = yield* scripts.list(app.id)
          if (held.length > 0 && query.force !== "true") {
            return yield* apiError(Conflict, "app_not_empty", `app ${app.name} holds ${held.length} script(s); delete them first or pass ?force=true`)
          }
          for (const script of held) {
            yield* scripts.delete(script.id).pipe(Effect.catchTag("ScriptNotFound", () => Effect.void))
            yield* changes.publish(script.id)
          }
          yield* apps.delete(app.id).pipe(Effect.catchTag("AppNotFound", () => Effect.fail(appNotFound(params.app))))
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
  })
)
