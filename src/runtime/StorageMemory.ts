import { Effect, Layer } from "effect"
import * as TransactionsMemory from "../db/TransactionsMemory.ts"
import * as AppRepoMemory from "../manager/AppRepoMemory.ts"
import * as IdentityRepoMemory from "../manager/IdentityRepoMemory.ts"
import * as KvStoreMemory from "../manager/KvStoreMemory.ts"
import * as RouteRepoMemory from "../manager/RouteRepoMemory.ts"
import * as ScheduleRepoMemory from "../manager/ScheduleRepoMemory.ts"
import * as SchedulerWakeLocal from "../manager/SchedulerWakeLocal.ts"
import * as ScriptRepoMemory from "../manager/ScriptRepoMemory.ts"
import * as SecretRepoMemory from "../manager/SecretRepoMemory.ts"
import * as TriggerRepoMemory from "../manager/TriggerRepoMemory.ts"
import * as DispatcherWakeLocal from "../orchestrator/DispatcherWakeLocal.ts"
import * as ExecutionLogMemory from "../orchestrator/ExecutionLogMemory.ts"
import * as OutboxRepoMemory from "../orchestrator/OutboxRepoMemory.ts"
import { StorageHealth } from "./StorageHealth.ts"

/**
 * Storage in memory (tests): the same services as `StorageSql`, held in this process and lost with
 * it; the dispatcher and the scheduler are woken by in-process signals only. Each build starts empty.
 */
export const layer = Layer.mergeAll(
  AppRepoMemory.layer,
  ScriptRepoMemory.layer,
  RouteRepoMemory.layer,
  TriggerRepoMemory.layer,
  ScheduleRepoMemory.layer,
  SchedulerWakeLocal.layer,
  SecretRepoMemory.layer,
  IdentityRepoMemory.layer,
  KvStoreMemory.layer,
  OutboxRepoMemory.layer.pipe(Layer.provideMerge(DispatcherWakeLocal.layer)),
  TransactionsMemory.layer,
  Layer.succeed(StorageHealth, StorageHealth.of({ check: Effect.void }))
).pipe(Layer.provideMerge(ExecutionLogMemory.layer))
