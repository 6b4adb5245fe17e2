import { Effect } from "effect"
import { apiError, Forbidden } from "../../domain/api/ApiError.ts"
import { CurrentPrincipal, type Principal, type Role } from "../../domain/Identity.ts"

/** The caller, if its role is one of `roles`; otherwise a 403. */
export const requireRole = (...roles: ReadonlyArray<Role>) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (!roles.includes(principal.role)) {
      return yield* apiError(Forbidden, "forbidden", `the ${principal.role} role may not do this`)
    }
    return principal
  })

/** Admins see every app; others the apps they are granted. Outside them, resources do not exist (404). */
export const seesApp = (principal: Principal, appId: string) => principal.role === "admin" || principal.apps.includes(appId)

/** The app ids a principal is limited to, or `undefined` for all (admins). */
export const visibleApps = (principal: Principal) => (principal.role === "admin" ? undefined : principal.apps)
