import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as TransactionsSql from "../db/TransactionsSql.ts"
import * as AppRepoSql from "../manager/AppRepoSql.ts"
import * as IdentityRepoSql from "../manager/IdentityRepoSql.ts"
import * as KvStoreSql from "../manager/KvStoreSql.ts"
import * as RouteRepoSql from "../manager/RouteRepoSql.ts"
import * as ScheduleRepoSql from "../manager/ScheduleRepoSql.ts"
import type { SchedulerWake } from "../manager/SchedulerWake.ts"
import * as SchedulerWakeLocal from "../manager/SchedulerWakeLocal.ts"
import * as SchedulerWakePg from "../manager/SchedulerWakePg.ts"
import * as ScriptRepoSql from "../manager/ScriptRepoSql.ts"
import * as SecretRepoSql from "../manager/SecretRepoSql.ts"
import * as TriggerRepoSql from "../manager/TriggerRepoSql.ts"
import type { DispatcherWake } from "../orchestrator/DispatcherWake.ts"
import * as DispatcherWakeLocal from "../orchestrator/DispatcherWakeLocal.ts"
import * as DispatcherWakePg from "../orchestrator/DispatcherWakePg.ts"
import * as ExecutionLogSql from "../orchestrator/ExecutionLogSql.ts"
import * as OutboxRepoSql from "../orchestrator/OutboxRepoSql.ts"
import { StorageHealth } from "./StorageHealth.ts"

/** PostgreSQL answers a trivial query. */
const StorageHealthSql = Layer.effect(
  StorageHealth,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return StorageHealth.of({ check: sql`SELECT 1`.pipe(Effect.asVoid) })
  })
)

/** Storage on PostgreSQL with the given wake-ups of the dispatcher and the scheduler. */
const make = <E1, R1, E2, R2>(
  dispatcherWake: Layer.Layer<DispatcherWake, E1, R1>,
  schedulerWake: Layer.Layer<SchedulerWake, E2, R2>
) =>
  Layer.mergeAll(
    AppRepoSql.layer,
    ScriptRepoSql.layer,
    RouteRepoSql.layer,
    TriggerRepoSql.layer,
    ScheduleRepoSql.layer,
    schedulerWake,
    SecretRepoSql.layer,
    IdentityRepoSql.layer,
    KvStoreSql.layer,
    OutboxRepoSql.layer.pipe(Layer.provideMerge(dispatcherWake)),
    ExecutionLogSql.layer,
    TransactionsSql.layer,
    StorageHealthSql
  )

/**
 * Storage on PostgreSQL: the repositories, the outbox and the execution log, storage health, and
 * transactions, and the dispatcher's and the scheduler's wake-ups, which also listen for the
 * outbox's and the schedules' NOTIFY (work, or a schedule change, committed by any process). Leaves
 * the `SqlClient`/`PgClient` and configuration open.
 */
export const layer = make(DispatcherWakePg.layer, SchedulerWakePg.layer)

/**
 * The same for the manager, which has a scheduler but no dispatcher: it listens for schedule
 * changes only (the outbox rows it writes NOTIFY the orchestrators all the same). One held
 * connection fewer.
 */
export const layerManager = make(DispatcherWakeLocal.layer, SchedulerWakePg.layer)

/**
 * The same for an orchestrator, which has a dispatcher but no scheduler: it listens for outbox
 * work only. One held connection fewer.
 */
export const layerOrchestrator = make(DispatcherWakePg.layer, SchedulerWakeLocal.layer)
