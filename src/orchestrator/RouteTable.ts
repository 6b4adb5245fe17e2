import { Context, Effect, Layer, Option } from "effect"
import { AppRepo } from "../domain/AppRepo.ts"
import { EVERYTHING } from "../domain/ChangeFeed.ts"
import type { PersistenceError } from "../domain/Errors.ts"
import { matchPattern, parsePattern, type Route, type Segment, specificity } from "../domain/Route.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { RouteRepo } from "../domain/RouteRepo.ts"

interface CompiledRoute {
  readonly route: Route
  readonly segments: ReadonlyArray<Segment>
  readonly rank: string
}

export interface RouteMatch {
  readonly route: Route
  readonly params: Record<string, string>
}

/**
 * Every app's routes, in memory, so matching a request makes no database round trip. An app's
 * routes are reloaded when `RouteChanges` reports them changed (before the admin call returns).
 * Within an app the most specific pattern wins, and a route for the exact method beats `ANY`.
 */
export class RouteTable extends Context.Service<RouteTable, {
  readonly match: (appName: string, method: string, path: ReadonlyArray<string>) => Option.Option<RouteMatch>
}>()("picloud/orchestrator/RouteTable") {
  static readonly layer = Layer.effect(
    RouteTable,
    Effect.gen(function*() {
      const routes = yield* RouteRepo
      const apps = yield* AppRepo
      const changes = yield* RouteChanges
      /** By app name. */
      const table = new Map<string, ReadonlyArray<CompiledRoute>>()
      const names = new Map<string, string>()

      const compile = (list: ReadonlyArray<Route>) =>
        list.flatMap((route) => {
          const segments = parsePattern(route.path)
          return typeof segments === "string" ? [] : [{ route, segments, rank: specificity(segments) }]
        }).sort((a, b) => (a.rank === b.rank ? 0 : a.rank < b.rank ? 1 : -1))

      const reload = (appId: string): Effect.Effect<void, PersistenceError> =>
        Effect.gen(function*() {
          const app = yield* apps.findByRef(appId)
          const previous = names.get(appId)
          if (previous !== undefined) table.delete(previous)
          if (Option.isNone(app)) return names.delete(appId)
          names.set(appId, app.value.name)
          table.set(app.value.name, compile(yield* routes.list(appId)))
        }).pipe(Effect.asVoid)

      /** Every app with routes, and every app known here (whose routes may all be gone). */
      const reloadAll = Effect.gen(function*() {
        const appIds = new Set([...(yield* routes.list()).map((r) => r.app_id), ...names.keys()])
        for (const appId of appIds) yield* reload(appId)
      })
      yield* reloadAll
      yield* changes.listen((appId) =>
        (appId === EVERYTHING ? reloadAll : reload(appId)).pipe(
          Effect.catch((error) => Effect.logError(`reloading the routes of app ${appId} failed`, error.cause))
        )
      )

      const match = (appName: string, method: string, path: ReadonlyArray<string>) => {
        let any: RouteMatch | undefined
        for (const compiled of table.get(appName) ?? []) {
          if (compiled.route.method !== method && compiled.route.method !== "ANY") continue
          const params = matchPattern(compiled.segments, path)
          if (params === undefined) continue
          if (compiled.route.method === method) return Option.some({ route: compiled.route, params })
          any ??= { route: compiled.route, params }
        }
        return Option.fromNullishOr(any)
      }
      return RouteTable.of({ match })
    })
  )
}
