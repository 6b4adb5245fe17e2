import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeMemoryHandler } from "../../../src/runtime/Memory.ts"
import { ADMIN_TOKEN, makeClient, memoryPlatform } from "../../support/client.ts"

const echo =
  `export default (req, ctx) => ({ statusCode: 201, headers: { "content-type": "application/json" }, body: JSON.stringify({ params: req.params, body: req.body, who: ctx.principal && ctx.principal.username }) })`
const boom = `export default () => { throw new Error("boom") }`

const setup = Effect.gen(function*() {
  const call = yield* memoryPlatform
  yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
  for (const [name, source] of [["echo", echo], ["boom", boom]]) {
    const created = yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name, source } })
    assert.strictEqual(created.status, 201, created.text)
  }
  const route = (body: Record<string, unknown>) =>
    call("POST", "/api/admin/routes", { body: { app: "shop", method: "POST", dispatch_mode: "async", ...body } }).pipe(
      Effect.tap((created) => Effect.sync(() => assert.strictEqual(created.status, 201, created.text)))
    )
  return { call, route }
})

describe("async routes: 202, then GET /api/executions/{id}", () => {
  it.live("accepts with 202 + Location; the result is read back, waiting on the inbox", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      yield* route({ path: "/orders/:id", script: "echo" })
      const accepted = yield* call("POST", "/shop/orders/7", { body: { n: 1 } })
      assert.strictEqual(accepted.status, 202, accepted.text)
      const { execution_id, accepted_at } = accepted.json
      assert.match(execution_id, /^[0-9a-f-]{36}$/)
      assert.isTrue(Math.abs(Date.parse(accepted_at) - Date.now()) < 5000)
      assert.strictEqual(accepted.headers.get("location"), `/api/executions/${execution_id}`)

      const done = yield* call("GET", `/api/executions/${execution_id}?wait=10`, { token: null })
      assert.strictEqual(done.status, 200, done.text)
      assert.deepStrictEqual(done.json, {
        id: execution_id,
        status: "succeeded",
        attempts: 1,
        accepted_at,
        result: {
          status: 201,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ params: { id: "7" }, body: "{\"n\":1}", who: "admin (PICLOUD_ADMIN_TOKEN)" })
        }
      })
      // The record is in the execution log like any other.
      const record = yield* call("GET", `/api/admin/executions/${execution_id}`)
      assert.strictEqual(record.json.accepted_at, accepted_at)
      assert.strictEqual(record.json.status, "succeeded")
    }))

  it.live("a failing script is retried by the route's policy, shows as failed in between, is dead-lettered, and replayed once fixed", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      yield* route({
        path: "/fail",
        script: "boom",
        retry: { backoff: "constant", initial_delay_ms: 1500, max_attempts: 2, jitter: false }
      })
      const { execution_id } = (yield* call("POST", "/shop/fail", { token: null })).json
      let between = yield* call("GET", `/api/executions/${execution_id}`, { token: null })
      for (let i = 0; i < 50 && between.json.status !== "failed"; i++) {
        yield* Effect.sleep("20 millis")
        between = yield* call("GET", `/api/executions/${execution_id}`, { token: null })
      }
      assert.strictEqual(between.status, 202, between.text)
      assert.strictEqual(between.json.status, "failed")
      assert.strictEqual(between.json.attempts, 1)
      assert.strictEqual(between.json.error.code, "script_error")
      const dueIn = Date.parse(between.json.next_attempt_at) - Date.now()
      assert.isTrue(dueIn > 500 && dueIn <= 1500, `next attempt in ${dueIn} ms`)

      const dead = yield* call("GET", `/api/executions/${execution_id}?wait=10`, { token: null })
      assert.strictEqual(dead.status, 200, dead.text)
      assert.strictEqual(dead.json.status, "dead_lettered")
      assert.strictEqual(dead.json.attempts, 2)
      assert.strictEqual(dead.json.error.code, "script_error")
      assert.include(dead.json.error.message, "boom")
      assert.isUndefined(dead.json.result)

      // The dead letter keeps the request; once the script is fixed, a replay runs it again.
      const listed = yield* call("GET", "/api/admin/dead-letters?app=shop")
      assert.strictEqual(listed.status, 200, listed.text)
      assert.deepStrictEqual(listed.json.items.map((d: { id: string }) => d.id), [execution_id])
      const letter = listed.json.items[0]
      assert.deepStrictEqual([
        letter.request.method,
        letter.request.path,
        letter.attempts,
        letter.error.code,
        letter.replayed_as
      ], ["POST", "/shop/fail", 2, "script_error", null])
      const script = (yield* call("GET", "/api/admin/scripts?app=shop")).json.items.find((x: { name: string }) =>
        x.name === "boom"
      )
      assert.strictEqual(
        (yield* call("PUT", `/api/admin/scripts/${script.id}`, {
          body: { source: "export default (req) => 'fixed ' + req.path" }
        })).status,
        200
      )
      const replay = yield* call("POST", `/api/admin/dead-letters/${execution_id}/replay`)
      assert.strictEqual(replay.status, 202, replay.text)
      assert.notStrictEqual(replay.json.execution_id, execution_id)
      const rerun = yield* call("GET", `/api/executions/${replay.json.execution_id}?wait=10`, { token: null })
      assert.strictEqual(rerun.json.status, "succeeded", rerun.text)
      assert.strictEqual(rerun.json.result.body, "fixed /shop/fail")
      assert.strictEqual(
        (yield* call("GET", `/api/admin/dead-letters/${execution_id}`)).json.replayed_as,
        replay.json.execution_id
      )
      assert.strictEqual((yield* call("DELETE", `/api/admin/dead-letters/${execution_id}`)).status, 204)
      assert.strictEqual((yield* call("GET", `/api/admin/dead-letters/${execution_id}`)).status, 404)
      assert.strictEqual((yield* call("POST", `/api/admin/dead-letters/${execution_id}/replay`)).status, 404)
    }))

  it.live("a dead-lettered execution runs its route's dead_letter_script once, with the dead letter as ctx.event; the dead letter shows its resolution", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      const handler = `export default (req, ctx) => {
        if (ctx.event.dead_letter.request.path === "/shop/hopeless") throw new Error("handler boom")
        return { invocation: ctx.invocation, request: req === undefined ? "absent" : req, event: ctx.event,
          depth: ctx.triggerDepth, root: ctx.rootExecutionId, who: ctx.principal && ctx.principal.username }
      }`
      assert.strictEqual(
        (yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "on-dead", source: handler } })).status,
        201
      )
      const once = { backoff: "constant", max_attempts: 1 }
      yield* route({ path: "/doomed", script: "boom", retry: once, dead_letter_script: "on-dead" })
      yield* route({ path: "/hopeless", script: "boom", retry: once, dead_letter_script: "on-dead" })
      /** The dead letter, once its handler has ended. */
      const resolved = (id: string) =>
        Effect.gen(function*() {
          let letter = yield* call("GET", `/api/admin/dead-letters/${id}`)
          for (let i = 0; i < 100 && (letter.status !== 200 || letter.json.resolution === "pending"); i++) {
            yield* Effect.sleep("20 millis")
            letter = yield* call("GET", `/api/admin/dead-letters/${id}`)
          }
          return letter.json
        })

      const doomed = (yield* call("POST", "/shop/doomed", { body: { n: 1 } })).json.execution_id
      const letter = yield* resolved(doomed)
      assert.deepStrictEqual([letter.resolution, letter.resolution_error, letter.invocation, letter.event], [
        "handled",
        null,
        "http",
        null
      ])
      const handlers = (yield* call("GET", "/api/admin/executions?invocation=dead_letter")).json.items
      assert.strictEqual(handlers.length, 1)
      const [run] = handlers
      assert.deepStrictEqual([run.status, run.parent_execution_id, run.root_execution_id, run.trigger_depth], [
        "succeeded",
        doomed,
        doomed,
        0
      ])
      const { replayed_as: _r, resolution: _s, resolution_error: _e, ...seen } = letter
      assert.deepStrictEqual(JSON.parse(run.result.body), {
        invocation: "dead_letter",
        request: "absent",
        event: { dead_letter: seen },
        depth: 0,
        root: doomed,
        who: "admin (PICLOUD_ADMIN_TOKEN)"
      })

      const hopeless = (yield* call("POST", "/shop/hopeless", { token: null })).json.execution_id
      const failed = yield* resolved(hopeless)
      assert.strictEqual(failed.resolution, "handler_failed")
      assert.strictEqual(failed.resolution_error.code, "script_error")
      assert.include(failed.resolution_error.message, "handler boom")
      const all = (yield* call("GET", "/api/admin/executions?invocation=dead_letter")).json.items
      assert.strictEqual(all.length, 2, "the failed handler ran once, and was not retried")
      assert.strictEqual(all[0].status, "failed")
      assert.strictEqual((yield* call("GET", `/api/admin/dead-letters/${all[0].id}`)).status, 404, "nor dead-lettered")
    }))

  it.live("an Idempotency-Key repeat within the window is the same execution, run once", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      yield* route({ path: "/pay", script: "echo" })
      const headers = { "idempotency-key": "order-7-payment" }
      const first = yield* call("POST", "/shop/pay", { token: null, headers })
      const again = yield* call("POST", "/shop/pay", { token: null, headers })
      assert.strictEqual(again.status, 202)
      assert.deepStrictEqual(again.json, first.json)
      assert.strictEqual(again.headers.get("idempotent-replayed"), "true")
      assert.isNull(first.headers.get("idempotent-replayed"))
      const other = yield* call("POST", "/shop/pay", { token: null, headers: { "idempotency-key": "order-8-payment" } })
      assert.notStrictEqual(other.json.execution_id, first.json.execution_id)
      yield* call("GET", `/api/executions/${first.json.execution_id}?wait=10`, { token: null })
      yield* call("GET", `/api/executions/${other.json.execution_id}?wait=10`, { token: null })
      const runs = yield* call("GET", "/api/admin/executions?limit=100")
      assert.strictEqual(runs.json.items.length, 2, "two keys, two executions")
      const otherBody = yield* call("POST", "/shop/pay", { token: null, headers, body: { amount: 2 } })
      assert.strictEqual(otherBody.status, 422, otherBody.text)
      assert.strictEqual(otherBody.json.error.code, "idempotency_key_reused")
      const tooLong = yield* call("POST", "/shop/pay", { token: null, headers: { "idempotency-key": "k".repeat(256) } })
      assert.strictEqual(tooLong.status, 400, tooLong.text)
      const nul = yield* call("POST", "/shop/pay", { token: null, body: "a\u0000b" })
      assert.strictEqual(nul.status, 400, nul.text)
      assert.include(nul.json.error.message, "NUL")
    }))

  it.live("a wait that ends first answers 202 with the progress so far", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      yield* route({
        path: "/later",
        script: "boom",
        retry: { backoff: "constant", initial_delay_ms: 60_000, max_attempts: 2 }
      })
      const { execution_id } = (yield* call("POST", "/shop/later", { token: null })).json
      const started = Date.now()
      const pending = yield* call("GET", `/api/executions/${execution_id}?wait=1`, { token: null })
      const waited = Date.now() - started
      assert.strictEqual(pending.status, 202, pending.text)
      assert.strictEqual(pending.json.status, "failed")
      assert.isTrue(waited >= 950 && waited < 1500, `waited ${waited} ms`)
    }))

  it.live("an accepted execution whose script is deleted meanwhile is dead-lettered at its next attempt, not retried", () =>
    Effect.gen(function*() {
      const { call, route } = yield* setup
      yield* route({
        path: "/doomed",
        script: "boom",
        retry: { backoff: "constant", initial_delay_ms: 300, max_attempts: 5, jitter: false }
      })
      const { execution_id } = (yield* call("POST", "/shop/doomed", { token: null })).json
      let status = yield* call("GET", `/api/executions/${execution_id}`, { token: null })
      for (let i = 0; i < 50 && status.json.status !== "failed"; i++) {
        yield* Effect.sleep("10 millis")
        status = yield* call("GET", `/api/executions/${execution_id}`, { token: null })
      }
      const script = (yield* call("GET", "/api/admin/scripts?app=shop")).json.items.find((x: { name: string }) =>
        x.name === "boom"
      )
      assert.strictEqual((yield* call("DELETE", `/api/admin/scripts/${script.id}`)).status, 204)
      const dead = yield* call("GET", `/api/executions/${execution_id}?wait=10`, { token: null })
      assert.strictEqual(dead.json.status, "dead_lettered", dead.text)
      assert.strictEqual(dead.json.attempts, 2)
      assert.strictEqual(dead.json.error.code, "script_not_found")
    }))

  it.live("past PICLOUD_MAX_QUEUED_EXECUTIONS waiting executions, an async route answers 503 queue_full with Retry-After", () =>
    Effect.gen(function*() {
      const { dispose, handler } = makeMemoryHandler(ADMIN_TOKEN, { PICLOUD_MAX_QUEUED_EXECUTIONS: "1" })
      yield* Effect.addFinalizer(() => Effect.promise(dispose))
      const call = makeClient(handler)
      yield* call("POST", "/api/admin/scripts", { body: { name: "boom", source: boom } })
      yield* call("POST", "/api/admin/routes", {
        body: {
          method: "POST",
          path: "/later",
          script: "boom",
          dispatch_mode: "async",
          retry: { initial_delay_ms: 3_600_000 }
        }
      })
      // The first waits an hour for its retry, holding the one place.
      assert.strictEqual((yield* call("POST", "/default/later", { token: null })).status, 202)
      const full = yield* call("POST", "/default/later", { token: null })
      assert.strictEqual(full.status, 503, full.text)
      assert.strictEqual(full.json.error.code, "queue_full")
      assert.strictEqual(full.headers.get("retry-after"), "5")
    }))

  it.live("bad waits are 400; unknown ids and synchronous executions are 404", () =>
    Effect.gen(function*() {
      const { call } = yield* setup
      for (const wait of ["61", "-1", "1.5", "soon", "1e1", "+5", " 5", "0x10", "", "5%00"]) {
        assert.strictEqual(
          (yield* call("GET", `/api/executions/${crypto.randomUUID()}?wait=${wait}`, { token: null })).status,
          400,
          wait
        )
      }
      assert.strictEqual((yield* call("GET", `/api/executions/${crypto.randomUUID()}`, { token: null })).status, 404)
      assert.strictEqual((yield* call("GET", "/api/executions/not-an-id?wait=1", { token: null })).status, 404)
      const sync = yield* call("POST", "/api/execute/shop/echo", { body: {} })
      const syncId = sync.headers.get("x-picloud-execution-id")!
      assert.strictEqual((yield* call("GET", `/api/executions/${syncId}`, { token: null })).status, 404)
    }))
})
