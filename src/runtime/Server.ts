import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Settings from "../config/Settings.ts"
import { FastPath } from "../orchestrator/http/FastPath.ts"
import { createNodeServer } from "./nodeServer.ts"

/**
 * The HTTP server of every process, on `PORT`/`HOST`, with the fast path its routes install (it
 * provides `FastPath` to them). SIGTERM: stop accepting, let in-flight requests (executions) finish
 * within `PICLOUD_SHUTDOWN_TIMEOUT`, then release what is below it.
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const fastPath = yield* FastPath
  return NodeHttpServer.layerConfig(() => createNodeServer(fastPath), {
    port: Settings.port.config,
    host: Settings.host.config,
    gracefulShutdownTimeout: Settings.shutdownTimeout.config
  })
})).pipe(Layer.provideMerge(FastPath.layer))
