import { Layer } from "effect"
import { KV_MAX_KEY_BYTES } from "../domain/KvStore.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
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
  ScriptChanges.layer,
  RouteChanges.layer,
  TriggerTable.layer.pipe(Layer.provideMerge(TriggerChanges.layer)),
  InboxResolverLocal.layer,
  PrincipalResolverTokens.layer
)

/**
 * The platform: every route and the dispatcher, on the shared services. What differs between
 * modes stays open, for each mode's composition root to choose: storage (`StorageSql` or
 * `StorageMemory`), the executor (worker threads or inline) and configuration. It exposes the
 * live tail, so that a server can end the tails when shutdown begins (`AllInOne`): an open event
 * stream would otherwise hold the server's drain for its whole timeout.
 */
export const layer = HttpApp.pipe(Layer.provide(Shared), Layer.provideMerge(ExecutionTail.layer))

/**
 * How every mode's router matches paths. A path parameter longer than `maxParamLength` (decoded)
 * matches no route; the default (100) would make KV keys past 100 characters unreachable.
 */
export const routerConfig = { maxParamLength: KV_MAX_KEY_BYTES }
