import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { TriggerNotFound } from "../../domain/Errors.ts"
import { TriggerRepo } from "../../domain/TriggerRepo.ts"
import { Triggers } from "../Triggers.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, manageableListing, requireRole, seesApp } from "./authorize.ts"

/**
 * `/api/admin/triggers`, for admins and the app's developers. A trigger maps `(app, key pattern,
 * ops)` to a script of the same app and runs as whoever last wrote it. Writing is the `Triggers`
 * service's.
 */
export const TriggersHttp = HttpApiBuilder.group(
  AdminApi,
  "triggers",
  Effect.fn(function*(handlers) {
    const triggers = yield* TriggerRepo
    const service = yield* Triggers
    const apps = yield* AppRepo
    const manageable = (ref: string | undefined) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    /** The caller and the trigger, if the caller may manage its app; otherwise, as if it did not exist. */
    const manageableTrigger = (id: string) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const trigger = yield* triggers.get(id)
        if (!seesApp(me, trigger.app_id)) return yield* new TriggerNotFound({ id })
        return { me, trigger }
      })

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(payload.app)
          return yield* service.create(yield* requireRole("admin", "developer"), appId, payload)
        }).pipe(apiErrors))
      .handle(
        "list",
        ({ query }) => manageableListing(query.app, triggers.list).pipe(Effect.provideService(AppRepo, apps), apiErrors)
      )
      .handle("get", ({ params }) => manageableTrigger(params.id).pipe(Effect.map(({ trigger }) => trigger), apiErrors))
      .handle("update", ({ params, payload }) =>
        manageableTrigger(params.id).pipe(
          Effect.flatMap(({ me, trigger }) => service.update(me, trigger, payload)),
          apiErrors
        ))
      .handle("delete", ({ params }) =>
        manageableTrigger(params.id).pipe(
          Effect.flatMap(({ me, trigger }) => service.delete(me, trigger)),
          apiErrors
        ))
  })
)
