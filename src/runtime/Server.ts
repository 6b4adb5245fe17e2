import { NodeHttpServer } from "@effect/platform-node"
import * as Settings from "../config/Settings.ts"
import { createJsonErrorServer } from "./JsonErrors.ts"

/**
 * The HTTP server of every process, on `PORT`/`HOST`. SIGTERM: stop accepting, let in-flight
 * requests (executions) finish within `PICLOUD_SHUTDOWN_TIMEOUT`, then release what is below it.
 */
export const layer = NodeHttpServer.layerConfig(createJsonErrorServer, {
  port: Settings.port.config,
  host: Settings.host.config,
  gracefulShutdownTimeout: Settings.shutdownTimeout.config
})
