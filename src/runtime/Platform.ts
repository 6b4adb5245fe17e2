import { Layer } from "effect"
import { IdentityChanges } from "../domain/IdentityChanges.ts"
import { KV_MAX_KEY_BYTES } from "../domain/KvStore.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { SecretChanges } from "../domain/SecretChanges.ts"
import { TriggerChanges } from "../domain/TriggerChanges.ts"
import * as AppEnvSecrets from "../manager/AppEnvSecrets.ts"
import * as PrincipalResolverTokens from "../manager/PrincipalResolverTokens.ts"
import { SecretCipher } from "../manager/SecretCipher.ts"
import { ExecutionGate } from "../orchestrator/ExecutionGate.ts"
import { ExecutionTail } from "../orchestrator/ExecutionTail.ts"
import * as InboxResolverLocal from "../orchestrator/InboxResolverLocal.ts"
import { TriggerTable } from "../orchestrator/TriggerTable.ts"
import { HttpApp } from "./HttpApp.ts"

/**
 * The services every mode shares, whatever its storage and executor. Adding a service: here. The
 * trigger table is here, with its change feed, so that every KV write path (the admin API and the
 * data plane) matches against the same table that every trigger write invalidates.
 */
const Shared = Layer.mergeAll(
  ExecutionGate.layer,
  AppEnvSecrets.layer.pipe(Layer.provideMerge(SecretCipher.layer)),
  TriggerTable.layer,
  PrincipalResolverTokens.layer
)

/**
 * How changes reach caches and how an async result reaches the callers waiting for it, inside one
 * process: the change feeds (scripts, routes, triggers, secrets, identities) and the inbox. The cluster's processes use
 * `ClusterDelivery` instead (the same services over PostgreSQL LISTEN/NOTIFY).
 */
export const LocalDelivery = Layer.mergeAll(
  ScriptChanges.layer,
  RouteChanges.layer,
  TriggerChanges.layer,
  SecretChanges.layer,
  IdentityChanges.layer,
  InboxResolverLocal.layer
)

/**
 * A platform of `app`'s routes on the shared services. What differs between modes stays open, for
 * each mode's composition root to choose: storage (`StorageSql` or `StorageMemory`), the executor
 * (worker threads, inline or remote), delivery (`LocalDelivery`, or the cluster's), the live
 * tail (`ExecutionTail.layer`, or the cluster's, which reaches across processes) and configuration. It exposes the live tail, so that a server can end the tails when shutdown begins
 * (`AllInOne`): an open event stream would otherwise hold the server's drain for its whole timeout.
 */
export const make = <A, E, R, E2, R2>(app: Layer.Layer<A, E, R>, tail: Layer.Layer<ExecutionTail, E2, R2>) =>
  app.pipe(Layer.provide(Shared), Layer.provideMerge(tail))

/** The platform of one process: every route and the dispatcher, with in-process delivery. */
export const layer = make(HttpApp, ExecutionTail.layer).pipe(Layer.provide(LocalDelivery))

/**
 * How every mode's router matches paths. A path parameter longer than `maxParamLength` (decoded)
 * matches no route; the default (100) would make KV keys past 100 characters unreachable.
 */
export const routerConfig = { maxParamLength: KV_MAX_KEY_BYTES }
