import { Context, Effect, Layer } from "effect"
import {
  type PersistenceError,
  type RouteConflict,
  type RouteNotFound,
  RoutePathInvalid,
  ScriptNotFound
} from "../domain/Errors.ts"
import { withRetryDefaults } from "../domain/RetryPolicy.ts"
import { type CreateRoute, parsePattern, patternShape, type Route } from "../domain/Route.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { RouteRepo } from "../domain/RouteRepo.ts"
import { scriptOfApp, ScriptRepo } from "../domain/ScriptRepo.ts"

/**
 * Writing routes: a route points at a script of its own app (and its dead-letter handler, if any,
 * at another); the route table hears of every change.
 */
export class Routes extends Context.Service<Routes, {
  readonly create: (
    appId: string,
    input: CreateRoute
  ) => Effect.Effect<Route, RoutePathInvalid | ScriptNotFound | RouteConflict | PersistenceError>
  readonly delete: (route: Route) => Effect.Effect<void, RouteNotFound | PersistenceError>
}>()("picloud/manager/Routes") {
  static readonly layer = Layer.effect(
    Routes,
    Effect.gen(function*() {
      const routes = yield* RouteRepo
      const scripts = yield* ScriptRepo
      const changes = yield* RouteChanges

      return Routes.of({
        create: Effect.fn("Routes.create")(function*(appId, input) {
          const segments = parsePattern(input.path)
          if (typeof segments === "string") return yield* new RoutePathInvalid({ path: input.path, reason: segments })
          const script = yield* scriptOfApp(scripts, appId, input.script)
          const handlerRef = input.dead_letter_script
          const handler = handlerRef === undefined ? undefined : yield* scriptOfApp(scripts, appId, handlerRef)
          const route = yield* routes.create({
            app_id: appId,
            method: input.method,
            path: input.path,
            shape: patternShape(segments),
            script_id: script.id,
            dispatch_mode: input.dispatch_mode ?? "sync",
            auth: input.auth ?? "none",
            retry: withRetryDefaults(input.retry),
            dead_letter_script_id: handler?.id ?? null
          })
          yield* changes.publish(appId)
          return route
        }),
        delete: Effect.fn("Routes.delete")(function*(route) {
          yield* routes.delete(route.id)
          yield* changes.publish(route.app_id)
        })
      })
    })
  )
}
