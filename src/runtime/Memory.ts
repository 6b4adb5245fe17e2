import { ConfigProvider, Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as ExecutorInline from "../executor/ExecutorInline.ts"
import { FastPath } from "../orchestrator/http/FastPath.ts"
import * as Platform from "./Platform.ts"
import * as StorageMemory from "./StorageMemory.ts"

/**
 * The in-memory platform (tests) on memory storage and the inline executor, its `FastPath` left
 * for a server to provide (`Server.layer`). `config` adds settings to the admin token and a test
 * secret key; `storage` and `executor` let a test swap a service.
 */
export const platform = (
  adminToken: string,
  config: Record<string, string> = {},
  storage: typeof StorageMemory.layer = StorageMemory.layer,
  executor: typeof ExecutorInline.layer = ExecutorInline.layer
) =>
  Platform.layer.pipe(
    Layer.provide([storage, executor]),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
      PICLOUD_ADMIN_TOKEN: adminToken,
      PICLOUD_SECRET_KEY: "memory-platform-test-key",
      ...config
    })))
  )

/**
 * The in-memory mode without a socket (tests): `platform`, its fast paths installed where no server
 * consults them, so every request takes the router.
 */
export const layer = (
  adminToken: string,
  config: Record<string, string> = {},
  storage: typeof StorageMemory.layer = StorageMemory.layer,
  executor: typeof ExecutorInline.layer = ExecutorInline.layer
) => platform(adminToken, config, storage, executor).pipe(Layer.provide(FastPath.layer))

/** The in-memory mode as a fetch-style handler (no socket); fresh state each call, released by `dispose`. */
export const makeMemoryHandler = (
  adminToken: string,
  config: Record<string, string> = {},
  executor: typeof ExecutorInline.layer = ExecutorInline.layer
) =>
  HttpRouter.toWebHandler(layer(adminToken, config, StorageMemory.layer, executor), {
    disableLogger: true,
    routerConfig: Platform.routerConfig
  })
