import { ConfigProvider, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { layerInline as ExecutorInline } from "../executor/ExecutorInline.ts"
import * as AppEnvLayer from "../manager/AppEnvLayer.ts"
import * as AppRepoMemory from "../manager/AppRepoMemory.ts"
import * as IdentityRepoMemory from "../manager/IdentityRepoMemory.ts"
import * as PrincipalResolverLayer from "../manager/PrincipalResolverLayer.ts"
import * as RouteRepoMemory from "../manager/RouteRepoMemory.ts"
import * as ScriptRepoMemory from "../manager/ScriptRepoMemory.ts"
import { SecretCipher } from "../manager/SecretCipher.ts"
import * as SecretRepoMemory from "../manager/SecretRepoMemory.ts"
import { DispatcherWake } from "../orchestrator/DispatcherWake.ts"
import { ExecutionGate } from "../orchestrator/ExecutionGate.ts"
import * as ExecutionLogMemory from "../orchestrator/ExecutionLogMemory.ts"
import * as InboxResolverLocal from "../orchestrator/InboxResolverLocal.ts"
import * as OutboxRepoMemory from "../orchestrator/OutboxRepoMemory.ts"
import { StorageHealth } from "./Health.ts"
import { HttpApp } from "./HttpApp.ts"

/** Every service the routes need, in memory: the same platform as all-in-one, minus PostgreSQL. */
export const MemoryServices = (adminToken: string) =>
  Layer.mergeAll(
    AppRepoMemory.layerMemory,
    ScriptRepoMemory.layerMemory,
    OutboxRepoMemory.layerMemory.pipe(Layer.provideMerge(DispatcherWake.layerLocal)),
    InboxResolverLocal.layerLocal,
    StorageHealth.layerMemory,
    ExecutorInline,
    ExecutionGate.layer,
    AppEnvLayer.layer.pipe(
      Layer.provideMerge(Layer.merge(SecretRepoMemory.layerMemory, SecretCipher.layerTest("memory-platform-test-key")))
    ),
    ScriptChanges.layerLocal,
    RouteChanges.layerLocal,
    RouteRepoMemory.layerMemory,
    PrincipalResolverLayer.layer.pipe(
      Layer.provideMerge(IdentityRepoMemory.layerMemory),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_ADMIN_TOKEN: adminToken })))
    )
  ).pipe(Layer.provideMerge(ExecutionLogMemory.layerMemory))

/**
 * The whole HTTP surface in memory, as a fetch-style handler (no socket). Each call builds fresh
 * state; `dispose` releases it.
 */
export const makeMemoryHandler = (adminToken: string) =>
  HttpRouter.toWebHandler(HttpApp.pipe(Layer.provide(MemoryServices(adminToken))), { disableLogger: true })
