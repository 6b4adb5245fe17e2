import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import { PersistenceError } from "../../src/domain/Errors.ts"
import { DEFAULT_RETRY_POLICY } from "../../src/domain/RetryPolicy.ts"
import { RouteChanges } from "../../src/domain/RouteChanges.ts"
import { RouteRepo } from "../../src/domain/RouteRepo.ts"
import { ScriptChanges } from "../../src/domain/ScriptChanges.ts"
import { ScriptRepo } from "../../src/domain/ScriptRepo.ts"
import { TriggerChanges } from "../../src/domain/TriggerChanges.ts"
import * as ExecutorInline from "../../src/executor/ExecutorInline.ts"
import { Apps } from "../../src/manager/Apps.ts"
import { Scripts } from "../../src/manager/Scripts.ts"
import * as StorageSql from "../../src/runtime/StorageSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

/**
 * A multi-step write is all or nothing: a fault injected at its last step (the script's or the
 * app's own delete, as if the process died there) leaves the routes and scripts of the earlier
 * steps in place, on a real PostgreSQL.
 */
const crashed = (operation: string) => Effect.fail(new PersistenceError({ operation, cause: "injected crash" }))

/** The SQL repositories, but the script and app deletes crash: what ran before them must roll back. */
const Crashing = Layer.mergeAll(
  Layer.effect(
    ScriptRepo,
    Effect.gen(function*() {
      const real = yield* ScriptRepo
      return ScriptRepo.of({ ...real, delete: () => crashed("ScriptRepo.delete") })
    })
  ),
  Layer.effect(
    AppRepo,
    Effect.gen(function*() {
      const real = yield* AppRepo
      return AppRepo.of({ ...real, delete: () => crashed("AppRepo.delete") })
    })
  )
)

const Services = Layer.mergeAll(Scripts.layer, Apps.layer).pipe(
  Layer.provide(Crashing),
  Layer.provideMerge(
    Layer.mergeAll(
      StorageSql.layer,
      ExecutorInline.layer,
      ScriptChanges.layer,
      RouteChanges.layer,
      TriggerChanges.layer
    )
  ),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))),
  Layer.provideMerge(TestDatabase)
)

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`

layer(Services, { timeout: "60 seconds" })("multi-step writes (sql): all or nothing", (it) => {
  const scriptWithRoute = (appId: string) =>
    Effect.gen(function*() {
      const scripts = yield* ScriptRepo
      const routes = yield* RouteRepo
      const script = yield* scripts.create({ app_id: appId, name: unique("s"), source: "export default () => 1" })
      const path = `/${unique("p")}`
      const route = yield* routes.create({
        app_id: appId,
        method: "GET",
        path,
        shape: path,
        script_id: script.id,
        dispatch_mode: "sync",
        auth: "none",
        retry: DEFAULT_RETRY_POLICY,
        dead_letter_script_id: null
      })
      return { script, route }
    })

  it.effect("a script delete that fails after its routes were deleted keeps the routes", () =>
    Effect.gen(function*() {
      const apps = yield* AppRepo
      const routes = yield* RouteRepo
      const scripts = yield* ScriptRepo
      const app = yield* apps.create({ name: unique("a") })
      const { route, script } = yield* scriptWithRoute(app.id)
      const failed = yield* (yield* Scripts).delete(script).pipe(Effect.flip)
      assert.strictEqual(failed._tag, "PersistenceError")
      assert.deepStrictEqual(yield* routes.get(route.id), route)
      assert.strictEqual((yield* scripts.find(script.id)).id, script.id)
    }))

  it.effect("a forced app delete that fails at the app keeps its scripts and their routes", () =>
    Effect.gen(function*() {
      const apps = yield* AppRepo
      const routes = yield* RouteRepo
      const scripts = yield* ScriptRepo
      const app = yield* apps.create({ name: unique("a") })
      const first = yield* scriptWithRoute(app.id)
      const second = yield* scriptWithRoute(app.id)
      const failed = yield* (yield* Apps).delete(app, { force: true }).pipe(Effect.flip)
      assert.strictEqual(failed._tag, "PersistenceError")
      assert.isTrue(Option.isSome(yield* apps.findByRef(app.id)))
      assert.deepStrictEqual(
        (yield* scripts.list(app.id)).map((s) => s.id).sort(),
        [first.script.id, second.script.id].sort()
      )
      assert.deepStrictEqual(
        (yield* routes.list(app.id)).map((r) => r.id).sort(),
        [first.route.id, second.route.id].sort()
      )
    }))
})
