import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { RouteConflict, RouteNotFound } from "../domain/Errors.ts"
import type { Route } from "../domain/Route.ts"
import { RouteRepo } from "../domain/RouteRepo.ts"

/** Routes in memory, with the SQL layer's rule: one route per (app, method, shape). */
export const layer = Layer.sync(RouteRepo, () => {
  const routes = new Map<string, Route & { readonly shape: string }>()
  const visible = ({ shape: _, ...route }: Route & { readonly shape: string }): Route => route
  return RouteRepo.of({
    create: (input) =>
      Effect.suspend(() => {
        const taken = [...routes.values()].some((r) =>
          r.app_id === input.app_id && r.method === input.method && r.shape === input.shape
        )
        if (taken) return Effect.fail(new RouteConflict({ method: input.method, path: input.path }))
        const route = { ...input, id: randomUUID(), created_at: new Date().toISOString() }
        routes.set(route.id, route)
        return Effect.succeed(visible(route))
      }),
    list: (appId) =>
      Effect.sync(() => [...routes.values()].filter((r) => appId === undefined || r.app_id === appId).map(visible)),
    get: (id) => {
      const route = routes.get(id)
      return route ? Effect.succeed(visible(route)) : Effect.fail(new RouteNotFound({ id }))
    },
    delete: (id) => (routes.delete(id) ? Effect.void : Effect.fail(new RouteNotFound({ id }))),
    deleteForScript: (scriptId) =>
      Effect.sync(() => {
        for (const [id, route] of routes) {
          if (route.script_id === scriptId) routes.delete(id)
          else if (route.dead_letter_script_id === scriptId) routes.set(id, { ...route, dead_letter_script_id: null })
        }
      })
  })
})
