import { Context, Effect, type Fiber, FiberSet, Layer, type Scope } from "effect"
import type { HttpServerResponse } from "effect/http"
import type { IncomingMessage } from "node:http"

/**
 * What a fast path makes of a request: `undefined` leaves it to the router; else the effect that
 * computes its answer, which needs no request service (it reads what it needs from the request).
 */
export type FastRoute = (request: IncomingMessage) => Effect.Effect<HttpServerResponse.HttpServerResponse> | undefined

/** A request taken by a fast path: its answer, and how to run it among its route's fibers. */
export interface Taken {
  readonly answer: Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly fork: <A>(effect: Effect.Effect<A>) => Fiber.Fiber<A>
}

/**
 * Routes the HTTP server consults before Effect's router, for the data plane's hottest requests
 * (docs/ARCHITECTURE.md §4): per request, the router, its middleware and its request objects cost
 * the main thread about as much as the platform's own work. A fast route takes only requests it
 * answers exactly as the router's route would (the same handler code); any other goes to the router.
 * The server answers a taken request as it answers the router's (`JsonErrors`). Its fibers belong
 * to the route's layer: they are interrupted when that layer is released, after the server has
 * stopped taking requests and waited for the open ones, as the router's are.
 */
export class FastPath extends Context.Service<FastPath, {
  /** Adds `route` until the calling layer's scope closes. */
  readonly install: (route: FastRoute) => Effect.Effect<void, never, Scope.Scope>
  /** The first route's answer for `request`, or `undefined` when none takes it. */
  readonly take: (request: IncomingMessage) => Taken | undefined
}>()("picloud/orchestrator/http/FastPath") {
  static readonly layer = Layer.sync(FastPath, () => {
    let routes: ReadonlyArray<{ readonly route: FastRoute; readonly fork: Taken["fork"] }> = []
    return FastPath.of({
      install: (route) =>
        Effect.gen(function*() {
          const fork = yield* FiberSet.makeRuntime<never>()
          const entry = { route, fork: (effect: Effect.Effect<any>) => fork(effect) }
          routes = [...routes, entry]
          yield* Effect.addFinalizer(() => Effect.sync(() => (routes = routes.filter((other) => other !== entry))))
        }),
      take: (request) => {
        for (const { route, fork } of routes) {
          const answer = route(request)
          if (answer !== undefined) return { answer, fork }
        }
        return undefined
      }
    })
  })
}
