import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DashboardDir } from "../../../src/runtime/DashboardRoute.ts"
import * as Memory from "../../../src/runtime/Memory.ts"
import * as Platform from "../../../src/runtime/Platform.ts"
import { ADMIN_TOKEN, makeClient } from "../../support/client.ts"

/** The memory platform serving the dashboard from `dir` (a fake build: an index and one asset). */
const platformWith = (dir: string) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      HttpRouter.toWebHandler(Memory.layer(ADMIN_TOKEN).pipe(Layer.provide(Layer.succeed(DashboardDir, dir))), {
        disableLogger: true,
        routerConfig: Platform.routerConfig
      })
    ),
    ({ dispose }) => Effect.promise(dispose)
  ).pipe(Effect.map(({ handler }) => makeClient(handler)))

const fakeBuild = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "picloud-dashboard-"))
    mkdirSync(join(dir, "assets"))
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>PiCloud</title>")
    writeFileSync(join(dir, "assets", "index-abc123.js"), "console.log(1)")
    writeFileSync(join(dir, "secret.txt"), "outside the dashboard? no: inside, and served")
    return dir
  }),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("GET /dashboard", () => {
  it.live("index.html at /dashboard and for any page path, not cached, with a CSP and nosniff", () =>
    Effect.gen(function*() {
      const call = yield* platformWith(yield* fakeBuild)
      for (const path of ["/dashboard", "/dashboard/", "/dashboard/scripts/42", "/dashboard/executions?script=x"]) {
        const reply = yield* call("GET", path, { token: null })
        assert.strictEqual(reply.status, 200, path)
        assert.include(reply.text, "<title>PiCloud</title>", path)
        assert.strictEqual(reply.headers.get("content-type"), "text/html; charset=utf-8")
        assert.strictEqual(reply.headers.get("cache-control"), "no-cache")
        assert.strictEqual(reply.headers.get("x-content-type-options"), "nosniff")
        const csp = reply.headers.get("content-security-policy") ?? ""
        assert.include(csp, "script-src 'self';")
        assert.include(csp, "frame-ancestors 'none'")
        assert.notInclude(csp, "unsafe-inline")
      }
    }))

  it.live("hashed assets are immutable; a missing asset is a JSON 404, never index.html", () =>
    Effect.gen(function*() {
      const call = yield* platformWith(yield* fakeBuild)
      const asset = yield* call("GET", "/dashboard/assets/index-abc123.js", { token: null })
      assert.strictEqual(asset.status, 200)
      assert.strictEqual(asset.text, "console.log(1)")
      assert.strictEqual(asset.headers.get("content-type"), "text/javascript; charset=utf-8")
      assert.strictEqual(asset.headers.get("cache-control"), "public, max-age=31536000, immutable")
      const missing = yield* call("GET", "/dashboard/assets/index-gone.js", { token: null })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.json.error.code, "not_found")
    }))

  it.live("a path cannot climb out of the build directory", () =>
    Effect.gen(function*() {
      const call = yield* platformWith(yield* fakeBuild)
      for (
        const path of [
          "/dashboard/../package.json",
          "/dashboard/%2e%2e/%2e%2e/package.json",
          "/dashboard/..%2f..%2fpackage.json"
        ]
      ) {
        const reply = yield* call("GET", path, { token: null })
        assert.notInclude(reply.text, "\"name\": \"picloud\"", path)
      }
    }))

  it.live("without a build: a JSON 503 that says how to build it", () =>
    Effect.gen(function*() {
      const call = yield* platformWith(join(tmpdir(), "picloud-no-dashboard-here"))
      const reply = yield* call("GET", "/dashboard/scripts", { token: null })
      assert.strictEqual(reply.status, 503)
      assert.strictEqual(reply.json.error.code, "dashboard_not_built")
      assert.include(reply.json.error.message, "npm install")
    }))
})
