import { Layer } from "effect"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import * as AppEnvLayer from "../manager/AppEnvLayer.ts"
import * as AppRepoSql from "../manager/AppRepoSql.ts"
import * as IdentityRepoSql from "../manager/IdentityRepoSql.ts"
import * as PrincipalResolverLayer from "../manager/PrincipalResolverLayer.ts"
import * as RouteRepoSql from "../manager/RouteRepoSql.ts"
import * as ScriptRepoSql from "../manager/ScriptRepoSql.ts"
import { SecretCipher } from "../manager/SecretCipher.ts"
import * as SecretRepoSql from "../manager/SecretRepoSql.ts"
import { DispatcherWake } from "../orchestrator/DispatcherWake.ts"
import { ExecutionGate } from "../orchestrator/ExecutionGate.ts"
import * as ExecutionLogSql from "../orchestrator/ExecutionLogSql.ts"
import * as InboxResolverLocal from "../orchestrator/InboxResolverLocal.ts"
import * as OutboxRepoSql from "../orchestrator/OutboxRepoSql.ts"
import { StorageHealth } from "./Health.ts"

/**
 * Every service the routes need, on PostgreSQL, except the executor (workers in a server, inline in
 * tests). Leaves the `SqlClient` and configuration open.
 */
export const SqlServices = Layer.mergeAll(
  AppRepoSql.layerSql,
  ScriptRepoSql.layerSql,
  StorageHealth.layerSql,
  ExecutionGate.layer,
  AppEnvLayer.layer.pipe(Layer.provideMerge(Layer.merge(SecretRepoSql.layerSql, SecretCipher.layer))),
  ScriptChanges.layerLocal,
  RouteChanges.layerLocal,
  RouteRepoSql.layerSql,
  OutboxRepoSql.layerSql.pipe(Layer.provideMerge(DispatcherWake.layerPg)),
  InboxResolverLocal.layerLocal,
  PrincipalResolverLayer.layer.pipe(Layer.provideMerge(IdentityRepoSql.layerSql))
).pipe(Layer.provideMerge(ExecutionLogSql.layerSql))
