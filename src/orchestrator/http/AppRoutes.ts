import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { bearerToken } from "../../domain/api/credentials.ts"
import type { PersistenceError } from "../../domain/Errors.ts"
import type { ScriptHttpRequest } from "../../domain/Exec.ts"
import { type Principal, seesApp } from "../../domain/Identity.ts"
import { RESERVED_SEGMENTS } from "../../domain/Route.ts"
import { type RouteMatch, RouteTable } from "../RouteTable.ts"
import { ScriptCache } from "../ScriptCache.ts"
import { makeAsyncHttp } from "./AsyncHttp.ts"
import { errorResponse } from "./errorResponse.ts"
import { FastPath } from "./FastPath.ts"
import { requestTarget } from "./requestTarget.ts"
import { type EarlyReply, earlyReply, makeSyncHttp } from "./SyncHttp.ts"

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
 * `/api/execute`, an async one is accepted into the outbox (202); the captures are in
 * `request.params`. `auth: none` routes are public (a token, if sent, must be valid and sets
 * `ctx.principal`); `auth: token` routes need a token of a caller granted the app (else 401 without
 * a token, 404 for a caller not granted it). Whatever no route claims is a JSON 404. Plain requests
 * that match a route take the server's fast path (`FastPath`) through the same `answer`.
 */
export const AppRoutes = HttpRouter.use(Effect.fn(function*(router) {
  const routes = yield* RouteTable
  const scripts = yield* ScriptCache
  const sync = yield* makeSyncHttp
  const async = yield* makeAsyncHttp
  const fastPath = yield* FastPath

  /** The app route `segments` name for `method`, if any (no route: the router's JSON 404). */
  const matchOf = (method: string, segments: ReadonlyArray<string>) => {
    const [appName, ...path] = segments
    if (appName === undefined || appName === "" || RESERVED_SEGMENTS.has(appName)) return Option.none()
    return routes.match(appName, method, path)
  }

  /**
   * Answers a request that `matched` a route: who calls (`caller`), the request as the script sees it
   * (`read`, given the route's captures), and its `Idempotency-Key` (async routes).
   */
  const answer = (
    { route, params }: RouteMatch,
    caller: Effect.Effect<Option.Option<Principal>, EarlyReply | PersistenceError>,
    read: (params: Record<string, string>) => Effect.Effect<ScriptHttpRequest, EarlyReply>,
    idempotencyKey: string | undefined
  ) =>
    Effect.gen(function*() {
      const principal = yield* caller
      if (route.auth === "token") {
        if (Option.isNone(principal)) {
          return yield* Effect.fail(
            earlyReply(401, { code: "unauthorized", message: "this route needs a bearer token" })
          )
        }
        // Not granted the app: answered as if the route did not exist, so its existence is not revealed.
        if (!seesApp(principal.value, route.app_id)) return notFound
      }
      const scriptRequest = yield* read(params)
      const target = yield* scripts.resolve(undefined, route.script_id)
      if (Option.isNone(target)) return notFound
      return route.dispatch_mode === "async"
        ? yield* async.accept(route, target.value, scriptRequest, principal, idempotencyKey)
        : yield* sync.run(target.value, scriptRequest, principal)
    }).pipe(sync.finish)

  const handle = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const segments = decodeSegments(requestTarget(request.url).path)
    if (segments === undefined) {
      return errorResponse(400, { code: "bad_request", message: "malformed percent-encoding in the path" })
    }
    const matched = matchOf(request.method, segments)
    if (Option.isNone(matched)) return notFound
    return yield* answer(
      matched.value,
      sync.caller(request),
      (params) => sync.scriptRequest(request, params),
      request.headers["idempotency-key"]
    )
  })

  yield* router.add("*", "/*", handle)

  // The fast path (`FastPath`) takes what matches a route, read as the router would: no URL with a
  // percent sign reaches it, so the segments need no decoding.
  yield* fastPath.install((request) => {
    if (!sync.readsNodeRequest(request)) return undefined
    const matched = matchOf(request.method!, requestTarget(request.url!).path.split("/").slice(1))
    if (Option.isNone(matched)) return undefined
    const idempotencyKey = request.headers["idempotency-key"]
    return answer(
      matched.value,
      sync.principalOf(bearerToken(request.headers.authorization)),
      (params) => sync.nodeScriptRequest(request, params),
      typeof idempotencyKey === "string" ? idempotencyKey : undefined
    )
  })
}))
