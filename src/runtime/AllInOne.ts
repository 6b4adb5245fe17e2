import { NodeHttpServer } from "@effect/platform-node"
import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Settings from "../config/Settings.ts"
import * as Database from "../db/Database.ts"
import * as ExecutorWorkers from "../executor/ExecutorWorkers.ts"
import { createJsonErrorServer } from "./JsonErrors.ts"
import * as Platform from "./Platform.ts"
import * as StorageSql from "./StorageSql.ts"

const ServerLayer = NodeHttpServer.layerConfig(createJsonErrorServer, {
  port: Settings.port.config,
  host: Settings.host.config,
  // SIGTERM: stop accepting, let in-flight executions finish, then close storage.
  gracefulShutdownTimeout: Settings.shutdownTimeout.config
})

/**
 * All-in-one: manager, orchestrator and executor in one process on one PostgreSQL (external with
 * `DATABASE_URL`, else embedded). Layers are released in reverse: the server drains first, then the
 * execution log flushes, then the database stops.
 */
export const AllInOne = HttpRouter.serve(Platform.layer, { disableLogger: true, routerConfig: Platform.routerConfig })
  .pipe(
    Layer.provide(ServerLayer),
    Layer.provide([StorageSql.layer, ExecutorWorkers.layer]),
    Layer.provide(Database.layer)
  )
