import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as TransactionsSql from "../db/TransactionsSql.ts"
import * as AppRepoSql from "../manager/AppRepoSql.ts"
import * as IdentityRepoSql from "../manager/IdentityRepoSql.ts"
import * as KvStoreSql from "../manager/KvStoreSql.ts"
import * as RouteRepoSql from "../manager/RouteRepoSql.ts"
import * as ScheduleRepoSql from "../manager/ScheduleRepoSql.ts"
import * as SchedulerWakePg from "../manager/SchedulerWakePg.ts"
import * as ScriptRepoSql from "../manager/ScriptRepoSql.ts"
import * as SecretRepoSql from "../manager/SecretRepoSql.ts"
import * as TriggerRepoSql from "../manager/TriggerRepoSql.ts"
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

/**
 * Storage on PostgreSQL: the repositories, the outbox and the execution log, storage health, and
 * transactions, and the dispatcher's and the scheduler's wake-ups, which also listen for the
 * outbox's and the schedules' NOTIFY (work, or a schedule change, committed by any process). Leaves
 * the `SqlClient`/`PgClient` and configuration open.
 */
export const layer = Layer.mergeAll(
  AppRepoSql.layer,
  ScriptRepoSql.layer,
  RouteRepoSql.layer,
  TriggerRepoSql.layer,
  ScheduleRepoSql.layer,
  SchedulerWakePg.layer,
  SecretRepoSql.layer,
  IdentityRepoSql.layer,
  KvStoreSql.layer,
  OutboxRepoSql.layer.pipe(Layer.provideMerge(DispatcherWakePg.layer)),
  ExecutionLogSql.layer,
  TransactionsSql.layer,
  StorageHealthSql
)
