import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import * as ExecutorRpcServer from "../executor/ExecutorRpcServer.ts"
import { ExecutorPool } from "../executor/ExecutorWorkers.ts"
import * as ExecutorWorkers from "../executor/ExecutorWorkers.ts"
import * as Server from "./Server.ts"

/** `GET /health`: 200 with the pool's load (in-flight executions per worker thread). */
const Health = HttpRouter.use(Effect.fn(function*(router) {
  const pool = yield* ExecutorPool
  yield* router.add(
    "GET",
    "/health",
    Effect.sync(() => HttpServerResponse.jsonUnsafe({ status: "ok", load: pool.load }))
  )
}))

/**
 * The executor's routes on a given `Executor` (tests use the inline one): its RPC (`/rpc`, a
 * WebSocket) and nothing else.
 */
export const routes = ExecutorRpcServer.layer

/**
 * `picloud executor`: the sandbox's worker pool of one node of a cluster, behind an RPC server on
 * `PORT`/`HOST` (`/rpc`, a WebSocket; `/health`). It holds no state and needs no database: its
 * orchestrator sends each execution and answers the script's `kv` calls.
 */
export const ExecutorServer = HttpRouter.serve(Layer.mergeAll(routes, Health), { disableLogger: true }).pipe(
  Layer.provide(Server.layer),
  Layer.provide(ExecutorWorkers.layer)
)
