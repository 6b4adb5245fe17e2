import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { HttpRouter } from "effect/http"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort } from "../../../src/db/freePort.ts"
import { FastPath } from "../../../src/orchestrator/http/FastPath.ts"
import * as Memory from "../../../src/runtime/Memory.ts"
import { createNodeServer } from "../../../src/runtime/nodeServer.ts"
import * as Platform from "../../../src/runtime/Platform.ts"
import { ADMIN_TOKEN, jsonOrUndefined } from "../../support/client.ts"
import { parseMetrics, valueOf } from "../../support/prometheus.ts"

/** The requests the server's fast path took, as `METHOD url`. */
const taken: Array<string> = []

/** The in-memory platform on a real socket, as `Server.layer` serves it, its fast path watched. */
const served = (port: number) =>
  HttpRouter.serve(Memory.platform(ADMIN_TOKEN, { PICLOUD_MAX_REQUEST_BYTES: "1000" }), {
    disableLogger: true,
    disableListenLog: true,
    routerConfig: Platform.routerConfig
  }).pipe(
    Layer.provide(
      Layer.unwrap(Effect.gen(function*() {
        const fastPath = yield* FastPath
        const watched = FastPath.of({
          ...fastPath,
          take: (request) => {
            const answer = fastPath.take(request)
            if (answer !== undefined) taken.push(`${request.method} ${request.url}`)
            return answer
          }
        })
        return NodeHttpServer.layer(() => createNodeServer(watched), { port, host: "127.0.0.1" })
      })).pipe(Layer.provideMerge(FastPath.layer))
    )
  )

let base = ""
let runtime: ManagedRuntime.ManagedRuntime<never, unknown> | undefined

beforeAll(async () => {
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  runtime = ManagedRuntime.make(served(port) as Layer.Layer<never, unknown>)
  await runtime.runPromise(Effect.void)
})
afterAll(() => runtime?.dispose())

const call = async (
  method: string,
  path: string,
  options: {
    readonly body?: string | Uint8Array
    readonly token?: string | null
    readonly headers?: Record<string, string>
  } = {}
) => {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...options.headers },
    ...(options.body === undefined ? {} : { body: options.body })
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: jsonOrUndefined(text) }
}

/** What must be equal between two answers: all but the execution's id, the date, and the path the script saw. */
const comparable = (reply: Awaited<ReturnType<typeof call>>) => {
  const json = reply.json === undefined
    ? undefined
    : { ...reply.json, path: undefined, execution_id: undefined, accepted_at: undefined }
  if (json?.error !== undefined) json.error = { ...json.error, execution_id: undefined }
  return {
    status: reply.status,
    type: reply.headers.get("content-type"),
    retryAfter: reply.headers.get("retry-after"),
    hasExecution: reply.headers.has("x-picloud-execution-id"),
    location: reply.headers.get("location")?.replace(/[0-9a-f-]{36}/, "{id}"),
    json,
    text: json === undefined ? reply.text : undefined
  }
}

describe("the server's fast path for /api/execute and app routes", () => {
  beforeAll(async () => {
    for (
      const [name, source] of [
        [
          "echo",
          `export default function (request, ctx) {
          return { statusCode: 200, headers: { "content-type": "application/json", "x-who": ctx.principal.username },
            body: JSON.stringify(request) }
        }`
        ],
        ["throws", `export default function () { throw new Error("no") }`]
      ]
    ) {
      const created = await call("POST", "/api/admin/scripts", {
        body: JSON.stringify({ name, source }),
        headers: { "content-type": "application/json" }
      })
      assert.strictEqual(created.status, 201, created.text)
    }
    const json = { "content-type": "application/json" }
    const routes = [
      { method: "ANY", path: "/open/:id/*rest", script: "echo", auth: "none" },
      { method: "GET", path: "/closed", script: "echo", auth: "token" },
      { method: "POST", path: "/later", script: "echo", dispatch_mode: "async" }
    ]
    for (const route of routes) {
      const created = await call("POST", "/api/admin/routes", { body: JSON.stringify(route), headers: json })
      assert.strictEqual(created.status, 201, created.text)
    }
  })

  // Each pair: the plain request (the fast path's) and the same with a percent-encoded letter in
  // the script's name, which only the router takes (and decodes to the same name).
  const pairs: ReadonlyArray<readonly [string, string, string, Parameters<typeof call>[2]]> = [
    ["GET with a query, headers and cookies", "GET", "/api/execute/echo?a=1&b=two&a=3", {
      headers: { "x-in": "yes", cookie: "theirs=1; picloud_session=secret" }
    }],
    ["the app/name form", "PUT", "/api/execute/default/echo", { body: "{\"n\":7}" }],
    ["a body with a BOM and malformed UTF-8", "POST", "/api/execute/echo", {
      body: new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69, 0xff, 0xc3])
    }],
    ["an empty DELETE", "DELETE", "/api/execute/echo", {}],
    ["a revoked or unknown token: 401", "GET", "/api/execute/echo", { token: "not-a-token" }],
    ["no token: 401", "PATCH", "/api/execute/echo", { token: null }],
    ["an unknown script: 404", "GET", "/api/execute/nothing", {}],
    ["an unknown app: 404", "GET", "/api/execute/nowhere/echo", {}],
    ["a script that throws: 500", "POST", "/api/execute/throws", { body: "x" }],
    ["an app route with captures, without a token", "PATCH", "/default/open/42/a/b?x=1", { token: null, body: "hi" }],
    ["an app route with a token", "GET", "/default/open/7/z", {}],
    ["an app route needing a token, without one: 401", "GET", "/default/closed", { token: null }],
    ["an app route needing a token, with a bad one: 401", "GET", "/default/closed", { token: "bad" }],
    ["an app route needing a token", "GET", "/default/closed", {}],
    ["an async app route: 202", "POST", "/default/later", { body: "{}" }]
  ]
  for (const [title, method, path, options] of pairs) {
    it(`answers as the router does: ${title}`, async () => {
      const routed = path.startsWith("/api/execute/")
        ? path.replace(/o(?=[^/]*$)/, "%6F")
        : path.replace("e", "%65")
      assert.notStrictEqual(routed, path)
      const fast = await call(method, path, options)
      const router = await call(method, routed, options)
      assert.include(taken, `${method} ${path}`)
      assert.notInclude(taken, `${method} ${routed}`)
      assert.deepStrictEqual(comparable(fast), comparable(router))
      if (fast.status === 200) {
        assert.strictEqual(fast.json.path, path.split("?")[0])
        if (path.startsWith("/default/open/")) assert.strictEqual(fast.json.params.id, path.split("/")[3])
        assert.match(fast.headers.get("x-who") ?? "", /^admin/)
        assert.notInclude(fast.text, "secret")
        assert.notInclude(fast.text, ADMIN_TOKEN)
      }
    })
  }

  it("keeps an async route's Idempotency-Key", async () => {
    const options = { body: "{}", headers: { "idempotency-key": "fast-1" } }
    const first = await call("POST", "/default/later", options)
    const again = await call("POST", "/default/later", options)
    assert.strictEqual(first.status, 202, first.text)
    assert.strictEqual(again.json.execution_id, first.json.execution_id)
    assert.strictEqual(taken.filter((t) => t === "POST /default/later").length >= 2, true)
  })

  it("leaves to the router what it would answer differently: other methods, bodies it cannot bound, other paths", async () => {
    const before = taken.length
    // The data plane has no HEAD route: the router's 404.
    assert.strictEqual((await call("HEAD", "/api/execute/echo")).status, 404)
    const big = await call("POST", "/api/execute/echo", { body: "x".repeat(2000) })
    assert.strictEqual(big.status, 413)
    assert.strictEqual(big.json.error.code, "payload_too_large")
    const chunked = await fetch(`${base}/api/execute/echo`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: new ReadableStream({
        start: (controller) => {
          controller.enqueue(new TextEncoder().encode("streamed"))
          controller.close()
        }
      }),
      duplex: "half"
    } as RequestInit)
    assert.strictEqual(((await chunked.json()) as { body: string }).body, "streamed")
    // The router reads a trailing slash as none.
    const trailing = await call("GET", "/api/execute/echo/")
    assert.strictEqual(trailing.status, 200)
    assert.strictEqual(trailing.json.path, "/api/execute/echo/")
    const nul = await call("GET", "/api/execute/ec%00ho")
    assert.strictEqual(nul.status, 400)
    assert.deepStrictEqual(taken.slice(before), [])
  })

  it("counts its answers in the metrics, as the router's", async () => {
    const read = async () =>
      valueOf(await parseMetrics((await call("GET", "/metrics")).text), "picloud_http_requests_total")
    const before = await read()
    for (let i = 0; i < 3; i++) assert.strictEqual((await call("GET", "/api/execute/echo")).status, 200)
    assert.strictEqual((await call("GET", "/api/execute/echo", { token: "wrong" })).status, 401)
    // The /metrics read itself counts too, once its answer is sent.
    assert.strictEqual(await read(), before + 5)
  })
})
