import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { ExecutionTail } from "../../../src/orchestrator/ExecutionTail.ts"
import * as Memory from "../../../src/runtime/Memory.ts"
import * as Platform from "../../../src/runtime/Platform.ts"
import { ADMIN_TOKEN, makeClient } from "../../support/client.ts"
import { sseReader } from "../../support/sse.ts"

const PASSWORD = "correct horse battery staple"

/** The memory platform with apps `shop` and `other`, a script in each, and a developer of `shop`. */
const setup = Effect.gen(function*() {
  let tails: ExecutionTail["Service"] | undefined
  const platform = Memory.layer(ADMIN_TOKEN).pipe(
    Layer.tap((services) => Effect.sync(() => (tails = Context.get(services, ExecutionTail))))
  )
  const { handler } = yield* Effect.acquireRelease(
    Effect.sync(() => HttpRouter.toWebHandler(platform, { disableLogger: true, routerConfig: Platform.routerConfig })),
    ({ dispose }) => Effect.promise(dispose)
  )
  const call = makeClient(handler)
  const ok = (reply: { status: number; text: string; json: any }, status: number) => {
    assert.strictEqual(reply.status, status, reply.text)
    return reply.json
  }
  const scripts: Record<string, string> = {}
  for (const app of ["shop", "other"]) {
    ok(yield* call("POST", "/api/admin/apps", { body: { name: app } }), 201)
    const source =
      `export default (req) => { console.log("hello from ${app}"); if (req.query.fail) throw new Error("no"); return "ok" }`
    scripts[app] = ok(yield* call("POST", "/api/admin/scripts", { body: { app, name: "s", source } }), 201).id
  }
  ok(
    yield* call("POST", "/api/admin/users", {
      body: { username: "dev", password: PASSWORD, role: "developer", apps: ["shop"] }
    }),
    201
  )
  const dev = ok(
    yield* call("POST", "/api/admin/login", { token: null, body: { username: "dev", password: PASSWORD } }),
    201
  ).secret as string
  /** Runs `app`'s script synchronously; its execution id. */
  const run = (app: string, fail = false) =>
    call("GET", `/api/execute/${app}/s${fail ? "?fail=1" : ""}`).pipe(
      Effect.map((reply) => (fail ? reply.json.error.execution_id : reply.headers.get("x-picloud-execution-id")!))
    )
  /** Opens the tail; the reader is closed with the test's scope. */
  const tail = (query = "", options: { token?: string; headers?: Record<string, string> } = {}) =>
    Effect.acquireRelease(
      Effect.promise(async () => {
        const response = await handler(
          new Request(`http://picloud.test/api/admin/executions/stream${query}`, {
            headers: { authorization: `Bearer ${options.token ?? ADMIN_TOKEN}`, ...options.headers }
          })
        )
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers.get("content-type"), "text/event-stream")
        assert.strictEqual(response.headers.get("cache-control"), "no-cache")
        return sseReader(response)
      }),
      (reader) => Effect.promise(reader.close)
    )
  return { call, run, tail, dev, scripts, tails: tails! }
})

/** The ids of the next `n` execution events. */
const ids = (reader: ReturnType<typeof sseReader>, n: number) =>
  Effect.promise(async () => {
    const out: Array<string> = []
    while (out.length < n) {
      const event = await reader.next()
      assert.isDefined(event, "the stream ended early")
      assert.strictEqual(event!.event, "execution")
      assert.strictEqual(JSON.parse(event!.data).id, event!.id)
      out.push(event!.id!)
    }
    return out
  })

describe("GET /api/admin/executions/stream (live tail)", () => {
  it.live("delivers each execution's record, with its logs, as it completes: within 1 s", () =>
    Effect.gen(function*() {
      const { run, tail } = yield* setup
      const reader = yield* tail()
      const id = yield* run("shop")
      const ranAt = Date.now()
      const event = yield* Effect.promise(() => reader.next(1_000))
      assert.isBelow(Date.now() - ranAt, 1_000)
      assert.deepStrictEqual([event?.event, event?.id], ["execution", id])
      const record = JSON.parse(event!.data)
      assert.deepStrictEqual([record.status, record.logs.map((l: { message: string }) => l.message)], [
        "succeeded",
        ["hello from shop"]
      ])
      assert.include(reader.comments, "picloud executions", "the stream opens with a comment")
    }))

  it.live("filters by app (name or id), script and status; a developer sees its own apps only", () =>
    Effect.gen(function*() {
      const { call, run, tail, dev, scripts } = yield* setup
      const shopApp = (yield* call("GET", "/api/admin/apps/shop")).json.id
      const asDev = yield* tail("", { token: dev })
      const otherOnly = yield* tail("?app=other")
      const shopById = yield* tail(`?app=${shopApp}&status=failed`)
      const byScript = yield* tail(`?script=${scripts.other}&status=succeeded`)
      const [o1, s1, s2, o2] = [
        yield* run("other"),
        yield* run("shop"),
        yield* run("shop", true),
        yield* run("other", true)
      ]
      assert.deepStrictEqual(yield* ids(asDev, 2), [s1, s2])
      assert.deepStrictEqual(yield* ids(otherOnly, 2), [o1, o2])
      assert.deepStrictEqual(yield* ids(shopById, 1), [s2])
      assert.deepStrictEqual(yield* ids(byScript, 1), [o1])
    }))

  it.live("an app the caller may not see is a 404; bad filters are 400s naming them", () =>
    Effect.gen(function*() {
      const { call, dev } = yield* setup
      const reply = yield* call("GET", "/api/admin/executions/stream?app=other", { token: dev })
      assert.deepStrictEqual([reply.status, reply.json.error.code], [404, "app_not_found"])
      for (const [query, name] of [["?status=done", "status"], ["?since=abc", "since"], ["?script=abc", "script"]]) {
        const bad = yield* call("GET", `/api/admin/executions/stream${query}`)
        assert.strictEqual(bad.status, 400, bad.text)
        assert.include(bad.json.error.message, name)
      }
      const header = yield* call("GET", "/api/admin/executions/stream", { headers: { "last-event-id": "x" } })
      assert.strictEqual(header.status, 400, header.text)
    }))

  it.live("?since=<id> replays the records after it, then follows; Last-Event-ID does the same", () =>
    Effect.gen(function*() {
      const { run, tail } = yield* setup
      const [a, b, c] = [yield* run("shop"), yield* run("other"), yield* run("shop", true)]
      const since = yield* tail(`?since=${a}`)
      const resumed = yield* tail("?app=shop", { headers: { "last-event-id": a } })
      const d = yield* run("shop")
      assert.deepStrictEqual(yield* ids(since, 3), [b, c, d])
      assert.deepStrictEqual(yield* ids(resumed, 2), [c, d])
    }))

  it.live("a reader that hangs up closes its tail", () =>
    Effect.gen(function*() {
      const { tail, tails } = yield* setup
      const reader = yield* tail()
      yield* tail()
      assert.strictEqual(yield* tails.open, 2)
      yield* Effect.promise(reader.close)
      let open = 2
      for (let i = 0; i < 50 && open > 1; i++) {
        yield* Effect.sleep("10 millis")
        open = yield* tails.open
      }
      assert.strictEqual(open, 1)
    }))
})
