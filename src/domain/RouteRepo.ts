import { Context, type Effect } from "effect"
import type { PersistenceError, RouteConflict, RouteNotFound } from "./Errors.ts"
import type { Route } from "./Route.ts"

/** Routes: `(app, method, path pattern) → script`. Two patterns of the same shape conflict. */
export class RouteRepo extends Context.Service<RouteRepo, {
  readonly create: (
    route: Omit<Route, "id" | "created_at"> & { readonly shape: string }
  ) => Effect.Effect<Route, RouteConflict | PersistenceError>
  /** Every route, or one app's. */
  readonly list: (appId?: string) => Effect.Effect<ReadonlyArray<Route>, PersistenceError>
  readonly get: (id: string) => Effect.Effect<Route, RouteNotFound | PersistenceError>
  readonly delete: (id: string) => Effect.Effect<void, RouteNotFound | PersistenceError>
  /** Removes the routes of a script that is being deleted, and takes it off as their dead-letter handler. */
  readonly deleteForScript: (scriptId: string) => Effect.Effect<void, PersistenceError>
}>()("picloud/domain/RouteRepo") {}
