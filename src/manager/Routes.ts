import { Context, Effect, Layer, Option } from "effect"
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
import { ScriptRepo } from "../domain/ScriptRepo.ts"

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
          const script = yield* scripts.findByRef(appId, input.script)
          if (Option.isNone(script) || script.value.app_id !== appId) {
            return yield* new ScriptNotFound({ ref: input.script })
          }
          const handlerRef = input.dead_letter_script
          const handler = handlerRef === undefined ? Option.none() : yield* scripts.findByRef(appId, handlerRef)
          if (handlerRef !== undefined && (Option.isNone(handler) || handler.value.app_id !== appId)) {
            return yield* new ScriptNotFound({ ref: handlerRef })
          }
          const route = yield* routes.create({
            app_id: appId,
            method: input.method,
            path: input.path,
            shape: patternShape(segments),
            script_id: script.value.id,
            dispatch_mode: input.dispatch_mode ?? "sync",
            auth: input.auth ?? "none",
            retry: withRetryDefaults(input.retry),
            dead_letter_script_id: Option.match(handler, { onNone: () => null, onSome: ({ id }) => id })
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
