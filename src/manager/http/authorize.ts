import { Effect, Option } from "effect"
import { apiError, Forbidden, NotFound } from "../../domain/api/ApiError.ts"
import { DEFAULT_APP_ID } from "../../domain/App.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { CurrentPrincipal, type Principal, type Role, seesApp } from "../../domain/Identity.ts"

/** The caller, if its role is one of `roles`; otherwise a 403. */
export const requireRole = (...roles: ReadonlyArray<Role>) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (!roles.includes(principal.role)) {
      return yield* apiError(Forbidden, "forbidden", `the ${principal.role} role may not do this`)
    }
    return principal
  })

/** The domain's rule, here beside the other checks of the admin API's handlers. */
export { seesApp }

/**
 * The id of the app named by `ref` (name or id; the default app when absent), for admins and the
 * app's developers: invokers get 403, and an app the caller is not granted does not exist (404).
 */
export const manageableApp = (ref: string | undefined) =>
  Effect.gen(function*() {
    const me = yield* requireRole("admin", "developer")
    if (ref === undefined && seesApp(me, DEFAULT_APP_ID)) return DEFAULT_APP_ID
    const app = ref === undefined ? Option.none() : yield* (yield* AppRepo).findByRef(ref)
    if (Option.isNone(app) || !seesApp(me, app.value.id)) {
      return yield* apiError(NotFound, "app_not_found", `no app ${ref ?? "default"}`)
    }
    return app.value.id
  })

/**
 * An app-scoped listing for admins and the app's developers: the items of the app named by `ref`
 * (which the caller must manage), or without `ref`, those of every app the caller sees.
 */
export const manageableListing = <A extends { readonly app_id: string }, E, R>(
  ref: string | undefined,
  list: (appId?: string) => Effect.Effect<ReadonlyArray<A>, E, R>
) =>
  Effect.gen(function*() {
    const me = yield* requireRole("admin", "developer")
    const items = ref === undefined
      ? (yield* list()).filter((item) => seesApp(me, item.app_id))
      : yield* list(yield* manageableApp(ref))
    return { items }
  })

/** The app ids a principal is limited to, or `undefined` for all (admins). */
export const visibleApps = (principal: Principal) => (principal.role === "admin" ? undefined : principal.apps)
