import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Settings from "../config/Settings.ts"
import * as Database from "../db/Database.ts"
import * as ExecutorWorkers from "../executor/ExecutorWorkers.ts"
import { ExecutionTail } from "../orchestrator/ExecutionTail.ts"
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
 * Built after the server, so released before it: shutdown ends the live tails (each sends
 * `shutdown` and closes) before the server waits for open responses to finish.
 */
const EndTailsFirst = Layer.effectDiscard(Effect.gen(function*() {
  const tail = yield* ExecutionTail
  yield* Effect.addFinalizer(() => tail.end)
}))

/**
 * All-in-one: manager, orchestrator and executor in one process on one PostgreSQL (external with
 * `DATABASE_URL`, else embedded). Layers are released in reverse: live tails end, the server
 * drains, then the execution log flushes, then the database stops.
 */
export const AllInOne = EndTailsFirst
  .pipe(
    Layer.provide(HttpRouter.serve(Platform.layer, { disableLogger: true, routerConfig: Platform.routerConfig })),
    Layer.provide(ServerLayer),
    Layer.provide([StorageSql.layer, ExecutorWorkers.layer]),
    Layer.provide(Database.layer)
  )
