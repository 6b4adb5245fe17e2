import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { memoryPlatformWith, ok } from "../../support/client.ts"
import { holdingSlow } from "../../support/holdingSlow.ts"

const PASSWORD = "correct horse battery staple"

type Call = Effect.Success<ReturnType<typeof memoryPlatformWith>>

const SCRIPTS = {
  ok: `export default () => ({ statusCode: 200, body: "ok" })`,
  boom: `export default () => { throw new Error("boom") }`,
  slow: `export default () => ({ statusCode: 200, body: "slow" })`
}

const setup = (call: Call, app: string) =>
  Effect.gen(function*() {
    yield* call("POST", "/api/admin/apps", { body: { name: app } }).pipe(Effect.flatMap(ok(201)))
    for (const [name, source] of Object.entries(SCRIPTS)) {
      yield* call("POST", "/api/admin/scripts", { body: { app, name, source } }).pipe(Effect.flatMap(ok(201)))
    }
  })

describe("admin API: GET /api/admin/stats", () => {
  it.live("the last hour by minute: executions by outcome, p95 duration, the outbox; 60 minutes, the current last", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith()
      yield* setup(call, "shop")
      for (let i = 0; i < 3; i++) yield* call("POST", "/api/execute/shop/ok").pipe(Effect.flatMap(ok(200)))
      for (let i = 0; i < 2; i++) yield* call("POST", "/api/execute/shop/boom").pipe(Effect.flatMap(ok(502)))

      const stats = yield* call("GET", "/api/admin/stats").pipe(Effect.flatMap(ok(200)))
      const from = Date.parse(stats.from)
      const to = Date.parse(stats.to)
      assert.strictEqual(from % 60_000, 0, "from is a minute's start")
      assert.isTrue(to - from > 59 * 60_000 && to - from <= 3_600_000, `${stats.from} – ${stats.to}`)
      assert.strictEqual(stats.minutes.length, 60)
      stats.minutes.forEach((minute: any, i: number) => assert.strictEqual(Date.parse(minute.at), from + i * 60_000))
      const counted = stats.minutes.filter((m: any) => Object.keys(m.outcomes).length > 0)
      // Everything ran within a second or two: one minute, or two across a minute's turn.
      const sum = (status: string) => counted.reduce((n: number, m: any) => n + (m.outcomes[status] ?? 0), 0)
      assert.strictEqual(sum("succeeded"), 3)
      assert.strictEqual(sum("failed"), 2)
      for (const minute of counted) assert.isTrue(minute.p95_ms >= 0)
      for (const minute of stats.minutes.filter((m: any) => Object.keys(m.outcomes).length === 0)) {
        assert.isNull(minute.p95_ms)
      }
      assert.deepStrictEqual(stats.outbox, { depth: 0, due: 0, oldest_due_age_seconds: 0 })
      assert.isAtLeast(stats.rejected_503, 0)
      for (const minute of stats.minutes) assert.isNull(minute.outbox_wait_ms, "no async execution: no outbox lag")
    }))

  it.live("a developer sees its apps only; ?app= narrows to one it may manage (404 otherwise); invokers get 403", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith()
      yield* setup(call, "shop")
      yield* setup(call, "blog")
      yield* call("POST", "/api/admin/users", {
        body: { username: "dev", password: PASSWORD, role: "developer", apps: ["shop"] }
      }).pipe(Effect.flatMap(ok(201)))
      yield* call("POST", "/api/admin/users", {
        body: { username: "inv", password: PASSWORD, role: "invoker", apps: ["shop"] }
      }).pipe(Effect.flatMap(ok(201)))
      const tokenOf = (username: string) =>
        call("POST", "/api/admin/login", { token: null, body: { username, password: PASSWORD } }).pipe(
          Effect.flatMap(ok(201)),
          Effect.map((json) => json.secret as string)
        )
      yield* call("POST", "/api/execute/shop/ok").pipe(Effect.flatMap(ok(200)))
      for (let i = 0; i < 2; i++) yield* call("POST", "/api/execute/blog/ok").pipe(Effect.flatMap(ok(200)))
      const total = (stats: any) => stats.minutes.reduce((n: number, m: any) => n + (m.outcomes.succeeded ?? 0), 0)

      assert.strictEqual(total(yield* call("GET", "/api/admin/stats").pipe(Effect.flatMap(ok(200)))), 3)
      assert.strictEqual(total(yield* call("GET", "/api/admin/stats?app=blog").pipe(Effect.flatMap(ok(200)))), 2)
      const dev = yield* tokenOf("dev")
      assert.strictEqual(total(yield* call("GET", "/api/admin/stats", { token: dev }).pipe(Effect.flatMap(ok(200)))), 1)
      assert.strictEqual(
        total(yield* call("GET", "/api/admin/stats?app=shop", { token: dev }).pipe(Effect.flatMap(ok(200)))),
        1
      )
      yield* call("GET", "/api/admin/stats?app=blog", { token: dev }).pipe(Effect.flatMap(ok(404)))
      yield* call("GET", "/api/admin/stats", { token: yield* tokenOf("inv") }).pipe(Effect.flatMap(ok(403)))
      yield* call("GET", "/api/admin/stats?app=nope").pipe(Effect.flatMap(ok(404)))
    }))

  it.live("the gate's 503s show, in their minute and in all (this process's count); the outbox's backlog too", () =>
    Effect.gen(function*() {
      const [started, release] = [yield* Deferred.make<void>(), yield* Deferred.make<void>()]
      const call = yield* memoryPlatformWith({ PICLOUD_MAX_CONCURRENT_EXECUTIONS: "1" }, holdingSlow(started, release))
      yield* setup(call, "busy")
      yield* call("POST", "/api/admin/routes", {
        body: { app: "busy", method: "POST", path: "/later", script: "ok", dispatch_mode: "async", auth: "none" }
      }).pipe(Effect.flatMap(ok(201)))
      const before = (yield* call("GET", "/api/admin/stats").pipe(Effect.flatMap(ok(200)))).rejected_503

      const slow = yield* call("POST", "/api/execute/busy/slow").pipe(Effect.forkChild)
      yield* Deferred.await(started)
      for (let i = 0; i < 2; i++) yield* call("POST", "/api/execute/busy/ok").pipe(Effect.flatMap(ok(503)))
      for (let i = 0; i < 3; i++) yield* call("POST", "/busy/later", { token: null }).pipe(Effect.flatMap(ok(202)))
      yield* Effect.sleep("100 millis")

      const stats = yield* call("GET", "/api/admin/stats").pipe(Effect.flatMap(ok(200)))
      assert.strictEqual(stats.rejected_503 - before, 2)
      const byMinute = stats.minutes.reduce((n: number, m: any) => n + m.rejected_503, 0)
      assert.strictEqual(byMinute, stats.rejected_503)
      assert.strictEqual(stats.outbox.depth, 3)
      assert.isAtLeast(stats.outbox.due, 2)
      assert.isAbove(stats.outbox.oldest_due_age_seconds, 0)

      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(slow).pipe(Effect.flatMap(ok(200)))

      // The async requests waited in the outbox while the gate was full: the minute shows that lag.
      let after = stats
      for (let i = 0; i < 100 && after.outbox.depth > 0; i++) {
        yield* Effect.sleep("20 millis")
        after = yield* call("GET", "/api/admin/stats").pipe(Effect.flatMap(ok(200)))
      }
      assert.strictEqual(after.outbox.depth, 0)
      const lag = Math.max(...after.minutes.map((m: any) => m.outbox_wait_ms ?? -1))
      assert.isAtLeast(lag, 100, JSON.stringify(after.minutes.filter((m: any) => m.outbox_wait_ms !== null)))
    }))
})
