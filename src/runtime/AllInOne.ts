import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Database from "../db/Database.ts"
import * as ExecutorWorkers from "../executor/ExecutorWorkers.ts"
import { ExecutionTail } from "../orchestrator/ExecutionTail.ts"
import * as Platform from "./Platform.ts"
import * as Server from "./Server.ts"
import * as StorageSql from "./StorageSql.ts"

/**
 * Built after the server, so released before it: shutdown ends the live tails (each sends
 * `shutdown` and closes) before the server waits for open responses to finish.
 */
export const EndTailsFirst = Layer.effectDiscard(Effect.gen(function*() {
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
    Layer.provide(Server.layer),
    Layer.provide([StorageSql.layer, ExecutorWorkers.layer]),
    Layer.provide(Database.layer)
  )
