import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { RouteNotFound } from "../../domain/Errors.ts"
import { RouteRepo } from "../../domain/RouteRepo.ts"
import { Routes } from "../Routes.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, requireRole, seesApp } from "./authorize.ts"

/**
 * `/api/admin/routes`, for admins and the app's developers. A route maps `(app, method, path
 * pattern)` to a script of the same app; a pattern of the same shape as another route's, for the
 * same method, is a 409. Writing is the `Routes` service's.
 */
export const RoutesHttp = HttpApiBuilder.group(
  AdminApi,
  "routes",
  Effect.fn(function*(handlers) {
    const routes = yield* RouteRepo
    const service = yield* Routes
    const apps = yield* AppRepo
    const manageable = (ref: string | undefined) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    /** The route, if the caller may manage its app; otherwise, as if it did not exist. */
    const manageableRoute = (id: string) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const route = yield* routes.get(id)
        if (!seesApp(me, route.app_id)) return yield* new RouteNotFound({ id })
        return route
      })

    return handlers
      .handle(
        "create",
        ({ payload }) =>
          manageable(payload.app).pipe(Effect.flatMap((appId) => service.create(appId, payload)), apiErrors)
      )
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const items = query.app === undefined
            ? (yield* routes.list()).filter((r) => seesApp(me, r.app_id))
            : yield* routes.list(yield* manageable(query.app))
          return { items }
        }).pipe(apiErrors))
      .handle("get", ({ params }) => manageableRoute(params.id).pipe(apiErrors))
      .handle("delete", ({ params }) => manageableRoute(params.id).pipe(Effect.flatMap(service.delete), apiErrors))
  })
)
