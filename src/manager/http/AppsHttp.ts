import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, NotFound } from "../../domain/api/ApiError.ts"
import { DEFAULT_APP_ID } from "../../domain/App.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { CurrentPrincipal } from "../../domain/Identity.ts"
import { RouteChanges } from "../../domain/RouteChanges.ts"
import { RouteRepo } from "../../domain/RouteRepo.ts"
import { ScriptChanges } from "../../domain/ScriptChanges.ts"
import { ScriptRepo } from "../../domain/ScriptRepo.ts"
import { requireRole, seesApp } from "./authorize.ts"
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
    const routes = yield* RouteRepo
    const routeChanges = yield* RouteChanges

    /** The app, if the caller may see it; otherwise, as if it did not exist. */
    const find = (ref: string) =>
      Effect.gen(function*() {
        const me = yield* CurrentPrincipal
        const app = yield* apps.findByRef(ref)
        if (Option.isNone(app) || !seesApp(me, app.value.id)) return yield* appNotFound(ref)
        return app.value
      })

    return handlers
      .handle("create", ({ payload }) =>
        requireRole("admin").pipe(
          Effect.andThen(apps.create(payload)),
          Effect.catchTags({
            AppNameTaken: (e) => Effect.fail(apiError(Conflict, "app_name_taken", `an app named ${e.name} exists`)),
            PersistenceError: internalError
          })
        ))
      .handle("list", () =>
        Effect.gen(function*() {
          const me = yield* CurrentPrincipal
          return { items: (yield* apps.list).filter((app) => seesApp(me, app.id)) }
        }).pipe(
          Effect.catchTag("PersistenceError", internalError)
        ))
      .handle("get", ({ params }) => find(params.app).pipe(Effect.catchTag("PersistenceError", internalError)))
      .handle("delete", ({ params, query }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const app = yield* find(params.app)
          if (app.id === DEFAULT_APP_ID) {
            return yield* apiError(Conflict, "app_protected", "the default app cannot be deleted")
          }
          const held = yield* scripts.list(app.id)
          if (held.length > 0 && query.force !== "true") {
            return yield* apiError(
              Conflict,
              "app_not_empty",
              `app ${app.name} holds ${held.length} script(s); delete them first or pass ?force=true`
            )
          }
          for (const script of held) {
            yield* routes.deleteForScript(script.id)
            yield* scripts.delete(script.id).pipe(Effect.catchTag("ScriptNotFound", () => Effect.void))
            yield* changes.publish(script.id)
          }
          yield* apps.delete(app.id).pipe(Effect.catchTag("AppNotFound", () => Effect.fail(appNotFound(params.app))))
          yield* routeChanges.publish(app.id)
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
  })
)
