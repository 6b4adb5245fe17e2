import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, NotFound, Unprocessable } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { withRetryDefaults } from "../../domain/RetryPolicy.ts"
import { parsePattern, patternShape } from "../../domain/Route.ts"
import { RouteChanges } from "../../domain/RouteChanges.ts"
import { RouteRepo } from "../../domain/RouteRepo.ts"
import { ScriptRepo } from "../../domain/ScriptRepo.ts"
import { manageableApp, requireRole, seesApp } from "./authorize.ts"
import { internalError } from "./internalError.ts"

const routeNotFound = (id: string) => apiError(NotFound, "route_not_found", `no route ${id}`)

/**
 * `/api/admin/routes`, for admins and the app's developers. A route maps `(app, method, path
 * pattern)` to a script of the same app; a pattern of the same shape as another route's, for the
 * same method, is a 409. The route table hears of every change before the reply goes out.
 */
export const RoutesHttp = HttpApiBuilder.group(
  AdminApi,
  "routes",
  Effect.fn(function*(handlers) {
    const routes = yield* RouteRepo
    const scripts = yield* ScriptRepo
    const apps = yield* AppRepo
    const changes = yield* RouteChanges
    const manageable = (ref: string | undefined) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    /** The route, if the caller may manage its app; otherwise, as if it did not exist. */
    const manageableRoute = (id: string) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const route = yield* routes.get(id).pipe(Effect.catchTag("RouteNotFound", () => Effect.fail(routeNotFound(id))))
        if (!seesApp(me, route.app_id)) return yield* routeNotFound(id)
        return route
      })

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(payload.app)
          const segments = parsePattern(payload.path)
          if (typeof segments === "string") return yield* apiError(Unprocessable, "bad_path", segments)
          const script = yield* scripts.findByRef(appId, payload.script)
          if (Option.isNone(script) || script.value.app_id !== appId) {
            return yield* apiError(NotFound, "script_not_found", `no script ${payload.script} in this app`)
          }
          const route = yield* routes.create({
            app_id: appId,
            method: payload.method,
            path: payload.path,
            shape: patternShape(segments),
            script_id: script.value.id,
            dispatch_mode: payload.dispatch_mode ?? "sync",
            auth: payload.auth ?? "none",
            retry: withRetryDefaults(payload.retry)
          })
          yield* changes.publish(appId)
          return route
        }).pipe(
          Effect.catchTags({
            RouteConflict: (e) =>
              Effect.fail(
                apiError(Conflict, "route_conflict", `a ${e.method} route of the same shape as ${e.path} exists`)
              ),
            PersistenceError: internalError
          })
        ))
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const items = query.app === undefined
            ? (yield* routes.list()).filter((r) => seesApp(me, r.app_id))
            : yield* routes.list(yield* manageable(query.app))
          return { items }
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
      .handle(
        "get",
        ({ params }) => manageableRoute(params.id).pipe(Effect.catchTag("PersistenceError", internalError))
      )
      .handle("delete", ({ params }) =>
        Effect.gen(function*() {
          const route = yield* manageableRoute(params.id)
          yield* routes.delete(route.id).pipe(
            Effect.catchTag("RouteNotFound", () => Effect.fail(routeNotFound(params.id)))
          )
          yield* changes.publish(route.app_id)
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
  })
)
