import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { bearerToken } from "../../domain/api/credentials.ts"
import type { ScriptHttpRequest } from "../../domain/Exec.ts"
import { type Principal, seesApp } from "../../domain/Identity.ts"
import { ScriptCache } from "../ScriptCache.ts"
import { errorResponse } from "./errorResponse.ts"
import { FastPath } from "./FastPath.ts"
import { type EarlyReply, earlyReply, makeSyncHttp } from "./SyncHttp.ts"

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

/**
 * A path the fast path takes: `/api/execute/{ref}` or `/api/execute/{app}/{name}` with segments a
 * script or app can be named or identified by (at most 64 letters, digits, `-`, `_`), and nothing
 * the router would read differently (percent-encodings, dot segments, a trailing slash).
 */
const FAST_TARGET = /^\/api\/execute\/([A-Za-z0-9_-]{1,64})(?:\/([A-Za-z0-9_-]{1,64}))?(?:\?|$)/

/**
 * `/api/execute/{id-or-name}` (the default app, or any script by id) and `/api/execute/{app}/{name}`:
 * runs the script synchronously for the caller (docs/ARCHITECTURE.md §4). A token is required;
 * the caller may run the scripts of the apps it is granted (admins: all). Its plain requests take
 * the server's fast path (`FastPath`) through the same code, past the router.
 */
export const ExecuteRoute = HttpRouter.use(Effect.fn(function*(router) {
  const scripts = yield* ScriptCache
  const sync = yield* makeSyncHttp
  const fastPath = yield* FastPath

  /** Runs `{appRef}/{ref}` for `principal` on the request `read` reads. */
  const execute = (
    appRef: string | undefined,
    ref: string,
    principal: Option.Option<Principal>,
    read: Effect.Effect<ScriptHttpRequest, EarlyReply>
  ) =>
    Effect.gen(function*() {
      if (Option.isNone(principal)) {
        return yield* Effect.fail(
          earlyReply(401, { code: "unauthorized", message: "a bearer token is required" })
        )
      }
      const scriptRequest = yield* read
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
    })

  const handle = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const appRef = params.name === undefined ? undefined : params.app
    const principal = yield* sync.caller(request)
    return yield* execute(appRef, params.name ?? params.ref ?? "", principal, sync.scriptRequest(request, {}))
  }).pipe(sync.finish)

  for (const method of METHODS) {
    yield* router.add(method, "/api/execute/:ref", handle)
    yield* router.add(method, "/api/execute/:app/:name", handle)
  }

  yield* fastPath.install((request) => {
    const target = FAST_TARGET.exec(request.url ?? "")
    if (target === null || !sync.readsNodeRequest(request)) return undefined
    const appRef = target[2] === undefined ? undefined : target[1]
    const ref = target[2] ?? target[1]!
    return sync.principalOf(bearerToken(request.headers.authorization)).pipe(
      Effect.flatMap((principal) => execute(appRef, ref, principal, sync.nodeScriptRequest(request, {}))),
      sync.finish
    )
  })
}))
