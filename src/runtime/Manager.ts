import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Database from "../db/Database.ts"
import * as ExecutorWorkers from "../executor/ExecutorWorkers.ts"
import { EndTailsFirst } from "./AllInOne.ts"
import * as ClusterDelivery from "./ClusterDelivery.ts"
import { ManagerApp } from "./HttpApp.ts"
import * as Platform from "./Platform.ts"
import * as Server from "./Server.ts"
import * as StorageSql from "./StorageSql.ts"

/**
 * `picloud manager`: the control plane of a cluster. The admin API, the dashboard, the scheduler,
 * `/health` and `/metrics`, on the shared PostgreSQL (`DATABASE_URL`, required). It serves no
 * script endpoint: uploads are checked, and the admin API's test runs run, on one worker thread of
 * its own. What it changes reaches the orchestrators by
 * NOTIFY (`ClusterDelivery`); schedules' ticks go to the outbox, which the orchestrators drain.
 */
export const Manager = EndTailsFirst.pipe(
  Layer.provide(
    HttpRouter.serve(
      Platform.make(ManagerApp, ClusterDelivery.tailFollowing).pipe(Layer.provide(ClusterDelivery.layer)),
      {
        disableLogger: true,
        routerConfig: Platform.routerConfig
      }
    )
  ),
  Layer.provide(Server.layer),
  Layer.provide([StorageSql.layerManager, ExecutorWorkers.layerManager]),
  Layer.provide(Database.layerShared("manager"))
)
