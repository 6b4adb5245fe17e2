import { NodeHttpServer } from "@effect/platform-node"
import { Config, Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Database from "../db/Database.ts"
import * as ExecutorWorkers from "../executor/ExecutorWorkers.ts"
import { createJsonErrorServer } from "./JsonErrors.ts"
import * as Platform from "./Platform.ts"
import * as StorageSql from "./StorageSql.ts"

const ServerLayer = NodeHttpServer.layerConfig(createJsonErrorServer, {
  port: Config.Port("PORT").pipe(Config.withDefault(8080)),
  host: Config.String("HOST").pipe(Config.withDefault("0.0.0.0")),
  // SIGTERM: stop accepting, let in-flight executions finish (the timeout ceiling is 300 s, but a
  // supervisor rarely waits that long), then close storage.
  gracefulShutdownTimeout: Config.Duration("PICLOUD_SHUTDOWN_TIMEOUT").pipe(Config.withDefault("30 seconds"))
})

/**
 * All-in-one: manager, orchestrator and executor in one process on one PostgreSQL (external with
 * `DATABASE_URL`, else embedded). Layers are released in reverse: the server drains first, then the
 * execution log flushes, then the database stops.
 */
export const AllInOne = HttpRouter.serve(Platform.layer, { disableLogger: true }).pipe(
  Layer.provide(ServerLayer),
  Layer.provide([StorageSql.layer, ExecutorWorkers.layer]),
  Layer.provide(Database.layer)
)
