import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { seesApp } from "../../domain/Identity.ts"
import { ScriptCache } from "../ScriptCache.ts"
import { errorResponse } from "./errorResponse.ts"
import { earlyReply, makeSyncHttp } from "./SyncHttp.ts"

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

/**
 * `/api/execute/{id-or-name}` (the default app, or any script by id) and `/api/execute/{app}/{name}`:
 * runs the script synchronously for the caller (docs/ARCHITECTURE.md §4). A token is required;
 * the caller may run the scripts of the apps it is granted (admins: all).
 */
export const ExecuteRoute = HttpRouter.use(Effect.fn(function*(router) {
  const scripts = yield* ScriptCache
  const sync = yield* makeSyncHttp

  const handle = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const appRef = params.name === undefined ? undefined : params.app
    const ref = params.name ?? params.ref ?? ""
    const principal = yield* sync.caller(request)
    if (Option.isNone(principal)) {
      return yield* Effect.fail(
        earlyReply(401, { code: "unauthorized", message: "a bearer token is required" })
      )
    }
    const scriptRequest = yield* sync.scriptRequest(request, {})
    const found = Option.filter(
      yield* scripts.resolve(appRef, ref),
      ({ app }) => seesApp(principal.value, app.id)
    )
    if (Option.isNone(found)) {
      return errorResponse(404, {
        code: "script_not_found",
        message: `no script ${appRef === undefined ? ref : `${appRef}/${ref}`}`
      })
    }
    return yield* sync.run(found.value, scriptRequest, principal)
  }).pipe(sync.finish)

  for (const method of METHODS) {
    yield* router.add(method, "/api/execute/:ref", handle)
    yield* router.add(method, "/api/execute/:app/:name", handle)
  }
}))
