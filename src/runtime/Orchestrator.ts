import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Database from "../db/Database.ts"
import * as ExecutorRemote from "../executor/ExecutorRemote.ts"
import { EndTailsFirst } from "./AllInOne.ts"
import * as ClusterDelivery from "./ClusterDelivery.ts"
import { OrchestratorApp } from "./HttpApp.ts"
import * as Platform from "./Platform.ts"
import * as Server from "./Server.ts"
import * as StorageSql from "./StorageSql.ts"

/**
 * `picloud orchestrator`: the data plane of one node of a cluster. Scripts' endpoints, async
 * results (`?wait`), the execution gate, the dispatcher (which drains the shared outbox with the
 * other nodes', by leases), `/health` and `/metrics`, on the shared PostgreSQL (`DATABASE_URL`,
 * required). Scripts run on the node's executor (`PICLOUD_EXECUTOR_URL`), over RPC; their `kv`
 * calls are answered here.
 */
export const Orchestrator = EndTailsFirst.pipe(
  Layer.provide(
    HttpRouter.serve(
      Platform.make(OrchestratorApp, ClusterDelivery.tailAnnouncing).pipe(Layer.provide(ClusterDelivery.layer)),
      {
        disableLogger: true,
        routerConfig: Platform.routerConfig
      }
    )
  ),
  Layer.provide(Server.layer),
  Layer.provide([StorageSql.layerOrchestrator, ExecutorRemote.layerRemote]),
  Layer.provide(Database.layerShared("orchestrator"))
)
