import { Context, Effect, Layer } from "effect"
import { type App, type CreateApp, DEFAULT_APP_ID } from "../domain/App.ts"
import { AppRepo } from "../domain/AppRepo.ts"
import {
  type AppNameTaken,
  AppNotEmpty,
  type AppNotFound,
  AppProtected,
  type PersistenceError
} from "../domain/Errors.ts"
import { KvStore } from "../domain/KvStore.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { RouteRepo } from "../domain/RouteRepo.ts"
import { ScheduleRepo } from "../domain/ScheduleRepo.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { ScriptRepo } from "../domain/ScriptRepo.ts"
import { Transactions } from "../domain/Transactions.ts"
import { TriggerChanges } from "../domain/TriggerChanges.ts"
import { TriggerRepo } from "../domain/TriggerRepo.ts"

/**
 * Writing apps. Deleting one deletes, in one transaction, its scripts and their routes, triggers
 * and schedules (only when asked to: `force`) and its keys, then tells the caches; the default app
 * cannot be deleted.
 */
export class Apps extends Context.Service<Apps, {
  readonly create: (input: CreateApp) => Effect.Effect<App, AppNameTaken | PersistenceError>
  readonly delete: (
    app: App,
    options: { readonly force: boolean }
  ) => Effect.Effect<void, AppProtected | AppNotEmpty | AppNotFound | PersistenceError>
}>()("picloud/manager/Apps") {
  static readonly layer = Layer.effect(
    Apps,
    Effect.gen(function*() {
      const apps = yield* AppRepo
      const scripts = yield* ScriptRepo
      const routes = yield* RouteRepo
      const triggers = yield* TriggerRepo
      const schedules = yield* ScheduleRepo
      const transactions = yield* Transactions
      const scriptChanges = yield* ScriptChanges
      const routeChanges = yield* RouteChanges
      const kv = yield* KvStore
      const triggerChanges = yield* TriggerChanges

      return Apps.of({
        create: Effect.fn("Apps.create")(function*(input) {
          return yield* apps.create(input)
        }),
        delete: Effect.fn("Apps.delete")(function*(app, { force }) {
          if (app.id === DEFAULT_APP_ID) return yield* new AppProtected({ name: app.name })
          const deleted = yield* transactions.atomically(Effect.gen(function*() {
            const held = yield* scripts.list(app.id)
            if (held.length > 0 && !force) return yield* new AppNotEmpty({ name: app.name, scripts: held.length })
            for (const script of held) {
              yield* routes.deleteForScript(script.id)
              yield* triggers.deleteForScript(script.id)
              yield* schedules.deleteForScript(script.id)
              yield* schedules.deleteForScript(script.id)
              yield* scripts.delete(script.id).pipe(Effect.catchTag("ScriptNotFound", () => Effect.void))
            }
            yield* kv.dropApp(app.id)
            yield* apps.delete(app.id)
            return held
          }))
          for (const script of deleted) yield* scriptChanges.publish(script.id)
          yield* routeChanges.publish(app.id)
          yield* triggerChanges.publish(app.id)
        })
      })
    })
  )
}
