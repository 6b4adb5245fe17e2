import { Context, Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { readFile } from "node:fs/promises"
import { extname, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { errorResponse } from "../orchestrator/http/errorResponse.ts"

/**
 * Where the dashboard's build lives (`dashboard/dist`, built by `dashboard/build.mjs` on install and
 * start). A reference so a test can point it elsewhere (an empty directory: the 503).
 */
export const DashboardDir = Context.Reference<string>("picloud/runtime/DashboardDir", {
  defaultValue: () => fileURLToPath(new URL("../../dashboard/dist", import.meta.url))
})

const PREFIX = "/dashboard"

/**
 * Every dashboard answer: a policy that allows no inline script or style and nothing from another
 * origin (the build emits none), no framing, no MIME sniffing, no referrer to a linked site.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    + "connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

/** Vite names every file under assets/ by its content's hash: a new build is new names, so they never change. */
const IMMUTABLE = "public, max-age=31536000, immutable"
/** index.html names the current assets: the browser asks again each time (cheap: it is small). */
const REVALIDATE = "no-cache"

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8"
}

const read = (path: string) =>
  Effect.tryPromise(() => readFile(path)).pipe(
    Effect.option,
    Effect.map((found) => found._tag === "Some" ? found.value : undefined)
  )

const file = (bytes: Uint8Array, path: string, cacheControl: string) =>
  HttpServerResponse.uint8Array(bytes, {
    contentType: CONTENT_TYPES[extname(path)] ?? "application/octet-stream",
    headers: { ...SECURITY_HEADERS, "cache-control": cacheControl }
  })

const notBuilt = errorResponse(503, {
  code: "dashboard_not_built",
  message: "the dashboard is not built: run `npm install` (with dev dependencies), "
    + "or `npm run build:dashboard`, then reload"
}, { ...SECURITY_HEADERS, "cache-control": "no-store" })

/**
 * `GET /dashboard/…`: the dashboard's built files (docs/ARCHITECTURE.md §2). A file of the build
 * is served as it is; any other path is a page of the dashboard's own router, answered with
 * index.html; a missing asset is a 404 (never HTML where a script is expected); no build is a 503
 * that says how to make one. Files are read per request: a rebuild is served without a restart.
 */
export const DashboardRoute = HttpRouter.use(Effect.fn(function*(router) {
  const root = resolve(yield* DashboardDir)
  const handle = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const pathname = new URL(request.url, "http://localhost").pathname
    const relative = decodeURIComponent(pathname.slice(PREFIX.length)).replace(/^\/+/, "")
    const target = resolve(root, relative)
    const inside = target.startsWith(root + sep)
    if (inside && relative !== "index.html") {
      const bytes = yield* read(target)
      if (bytes !== undefined) return file(bytes, target, relative.startsWith("assets/") ? IMMUTABLE : REVALIDATE)
      if (relative.startsWith("assets/") || extname(relative) !== "") {
        return errorResponse(404, { code: "not_found", message: `no dashboard file ${relative}` }, SECURITY_HEADERS)
      }
    }
    const index = yield* read(resolve(root, "index.html"))
    return index === undefined ? notBuilt : file(index, "index.html", REVALIDATE)
  })
  yield* router.add("GET", `${PREFIX}/*`, handle)
}))
