import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { seesApp } from "../../domain/Identity.ts"
import { RESERVED_SEGMENTS } from "../../domain/Route.ts"
import { RouteTable } from "../RouteTable.ts"
import { ScriptCache } from "../ScriptCache.ts"
import { makeAsyncHttp } from "./AsyncHttp.ts"
import { errorResponse } from "./errorResponse.ts"
import { requestTarget } from "./requestTarget.ts"
import { earlyReply, makeSyncHttp } from "./SyncHttp.ts"

/** The path's segments, decoded; `undefined` for malformed percent-encoding. */
const decodeSegments = (pathname: string) => {
  try {
    return pathname.split("/").slice(1).map(decodeURIComponent)
  } catch {
    return undefined
  }
}

const notFound = errorResponse(404, { code: "not_found", message: "no such route" })

/**
 * App routes at `/{app}/{path}` (docs/ARCHITECTURE.md §4): matched in memory; a sync route runs like
 * `/api/execute`, an async one is accepted into the outbox (202); the captures are in `request.params`. `auth: none` routes are public (a token,
 * if sent, must be valid and sets `ctx.principal`); `auth: token` routes need a token of a caller
 * granted the app (else 401 without a token, 404 for a caller not granted it). Whatever no route claims is a JSON 404.
 */
export const AppRoutes = HttpRouter.use(Effect.fn(function*(router) {
  const routes = yield* RouteTable
  const scripts = yield* ScriptCache
  const sync = yield* makeSyncHttp
  const async = yield* makeAsyncHttp

  const handle = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const segments = decodeSegments(requestTarget(request.url).path)
    if (segments === undefined) {
      return errorResponse(400, { code: "bad_request", message: "malformed percent-encoding in the path" })
    }
    const [appName, ...path] = segments
    if (appName === undefined || appName === "" || RESERVED_SEGMENTS.has(appName)) return notFound
    const matched = routes.match(appName, request.method, path)
    if (Option.isNone(matched)) return notFound
    const { route, params } = matched.value

    const principal = yield* sync.caller(request)
    if (route.auth === "token") {
      if (Option.isNone(principal)) {
        return yield* Effect.fail(
          earlyReply(401, { code: "unauthorized", message: "this route needs a bearer token" })
        )
      }
      // Not granted the app: answered as if the route did not exist, so its existence is not revealed.
      if (!seesApp(principal.value, route.app_id)) return notFound
    }
    const scriptRequest = yield* sync.scriptRequest(request, params)
    const target = yield* scripts.resolve(undefined, route.script_id)
    if (Option.isNone(target)) return notFound
    return route.dispatch_mode === "async"
      ? yield* async.accept(route, target.value, scriptRequest, principal, request.headers["idempotency-key"])
      : yield* sync.run(target.value, scriptRequest, principal)
  }).pipe(sync.finish)

  yield* router.add("*", "/*", handle)
}))
