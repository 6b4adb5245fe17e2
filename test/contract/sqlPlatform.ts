import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { HttpRouter } from "effect/http"
import { afterAll } from "vitest"
import * as ExecutorInline from "../../src/executor/ExecutorInline.ts"
import { FastPath } from "../../src/orchestrator/http/FastPath.ts"
import * as Platform from "../../src/runtime/Platform.ts"
import * as StorageSql from "../../src/runtime/StorageSql.ts"
import { ADMIN_TOKEN, makeClient } from "../support/client.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

/**
 * One PostgreSQL for a test file (stopped after it), and the whole platform on it: `platform`
 * builds the platform afresh, on the same database, each time it is used. `database` runs raw SQL.
 */
export const makeSqlPlatform = () => {
  const database = ManagedRuntime.make(TestDatabase)
  afterAll(() => database.dispose(), 60_000)
  const platform = Effect.acquireRelease(
    Effect.promise(async () =>
      HttpRouter.toWebHandler(
        Platform.layer.pipe(
          Layer.provide([StorageSql.layer, ExecutorInline.layer, FastPath.layer]),
          Layer.provide(Layer.succeedContext(await database.context())),
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromUnknown({ PICLOUD_ADMIN_TOKEN: ADMIN_TOKEN, PICLOUD_SECRET_KEY: "matrix-key" })
            )
          )
        ),
        { disableLogger: true, routerConfig: Platform.routerConfig }
      )
    ),
    ({ dispose }) => Effect.promise(dispose)
  ).pipe(Effect.map(({ handler }) => makeClient(handler)))
  return { database, platform }
}
