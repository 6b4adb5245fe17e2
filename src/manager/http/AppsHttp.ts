import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { AppNotFound } from "../../domain/Errors.ts"
import { CurrentPrincipal } from "../../domain/Identity.ts"
import { Apps } from "../Apps.ts"
import { apiErrors } from "./apiErrors.ts"
import { requireRole, seesApp } from "./authorize.ts"

/**
 * Handlers of `/api/admin/apps`. Deleting an app that still holds scripts is refused (409) unless
 * `?force=true`, which deletes them with it; the default app cannot be deleted.
 */
export const AppsHttp = HttpApiBuilder.group(
  AdminApi,
  "apps",
  Effect.fn(function*(handlers) {
    const apps = yield* AppRepo
    const service = yield* Apps

    /** The app, if the caller may see it; otherwise, as if it did not exist. */
    const find = (ref: string) =>
      Effect.gen(function*() {
        const me = yield* CurrentPrincipal
        const app = yield* apps.findByRef(ref)
        if (Option.isNone(app) || !seesApp(me, app.value.id)) return yield* new AppNotFound({ ref })
        return app.value
      })

    return handlers
      .handle("create", ({ payload }) => requireRole("admin").pipe(Effect.andThen(service.create(payload)), apiErrors))
      .handle("list", () =>
        Effect.gen(function*() {
          const me = yield* CurrentPrincipal
          return { items: (yield* apps.list).filter((app) => seesApp(me, app.id)) }
        }).pipe(apiErrors))
      .handle("get", ({ params }) => find(params.app).pipe(apiErrors))
      .handle("delete", ({ params, query }) =>
        Effect.gen(function*() {
          yield* requireRole("admin")
          const app = yield* find(params.app)
          yield* service.delete(app, { force: query.force === "true" }).pipe(
            Effect.catchTag("AppNotFound", () => Effect.fail(new AppNotFound({ ref: params.app })))
          )
        }).pipe(apiErrors))
  })
)
