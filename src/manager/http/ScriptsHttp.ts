import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { ScriptNotFound } from "../../domain/Errors.ts"
import type { ScriptId } from "../../domain/Ids.ts"
import { ScriptRepo } from "../../domain/ScriptRepo.ts"
import { Scripts } from "../Scripts.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp, requireRole, seesApp } from "./authorize.ts"
import { makeTestRun } from "./testRun.ts"

/**
 * Handlers of `/api/admin/scripts`, for admins and the developers of the script's app (others get
 * 403; a script in an app the caller may not see is a 404). Writing is the `Scripts` service's; a test run (`testRun.ts`) is for whoever may execute the
 * script.
 */
export const ScriptsHttp = HttpApiBuilder.group(
  AdminApi,
  "scripts",
  Effect.fn(function*(handlers) {
    const scripts = yield* ScriptRepo
    const service = yield* Scripts
    const apps = yield* AppRepo
    const testRun = yield* makeTestRun
    const manageable = (ref: string | undefined) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    /**
     * The script, if the caller may manage its app; otherwise, as if it did not exist. Only `get`
     * reads the source: updating or deleting a script must work even when its stored source cannot
     * be read (one stored before sources had a limit).
     */
    const manageableScript = <A extends { readonly app_id: string }, E, R>(
      id: string,
      read: (id: ScriptId) => Effect.Effect<A, E, R>
    ) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const script = yield* read(id as ScriptId)
        if (!seesApp(me, script.app_id)) return yield* new ScriptNotFound({ ref: id })
        return script
      })

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const app_id = yield* manageable(payload.app)
          return yield* service.create({
            app_id,
            name: payload.name,
            source: payload.source,
            ...(payload.timeout_seconds === undefined ? {} : { timeout_seconds: payload.timeout_seconds })
          })
        }).pipe(apiErrors))
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const items = query.app === undefined
            ? (yield* scripts.list()).filter((s) => seesApp(me, s.app_id))
            : yield* scripts.list(yield* manageable(query.app))
          return { items }
        }).pipe(apiErrors))
      .handle("get", ({ params }) => manageableScript(params.id, scripts.get).pipe(apiErrors))
      .handle("update", ({ params, payload }) =>
        manageableScript(params.id, scripts.find).pipe(
          Effect.flatMap((script) => service.update(script.id, payload)),
          apiErrors
        ))
      .handle(
        "delete",
        ({ params }) => manageableScript(params.id, scripts.find).pipe(Effect.flatMap(service.delete), apiErrors)
      )
      .handle("testRun", ({ params, payload }) => testRun(params.id, payload).pipe(apiErrors))
  })
)
