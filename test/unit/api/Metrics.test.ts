import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Metric } from "effect"
import { readFileSync } from "node:fs"
import * as PlatformMetrics from "../../../src/orchestrator/PlatformMetrics.ts"
import { ADMIN_TOKEN, memoryPlatformWith, ok } from "../../support/client.ts"
import { holdingSlow } from "../../support/holdingSlow.ts"
import { observationsOf, parseMetrics, type PromMetrics, valueOf } from "../../support/prometheus.ts"

/*
 * The metric registry is the process's: platforms in this file share it. Each test works in its own
 * app and compares scrapes before and after.
 */

type Call = Effect.Success<ReturnType<typeof memoryPlatformWith>>

const scrape = (call: Call, token: string | null = null) =>
  Effect.gen(function*() {
    const res = yield* call("GET", "/metrics", { token })
    assert.strictEqual(res.status, 200, res.text)
    assert.strictEqual(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
    return yield* Effect.promise(() => parseMetrics(res.text))
  })

/** Waits until `check` holds, polling. */
const eventually = (check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      if (yield* check) return
      yield* Effect.sleep("25 millis")
    }
    assert.fail("timed out")
  })

const SCRIPTS = {
  ok: `export default () => ({ statusCode: 200, body: "ok" })`,
  boom: `export default () => { throw new Error("boom") }`,
  writer:
    `export default async () => { await kv.set("orders/1", { n: 1 }); return { statusCode: 200, body: "written" } }`,
  reactor: `export default async (req, ctx) => { await kv.get(ctx.event.key) }`,
  slow: `export default () => ({ statusCode: 200, body: "slow" })`
}

const setup = (call: Call, app: string) =>
  Effect.gen(function*() {
    yield* call("POST", "/api/admin/apps", { body: { name: app } }).pipe(Effect.flatMap(ok(201)))
    for (const [name, source] of Object.entries(SCRIPTS)) {
      yield* call("POST", "/api/admin/scripts", { body: { app, name, source } }).pipe(Effect.flatMap(ok(201)))
    }
    const route = (body: Record<string, unknown>) =>
      call("POST", "/api/admin/routes", { body: { app, method: "POST", dispatch_mode: "async", ...body } }).pipe(
        Effect.flatMap(ok(201))
      )
    yield* route({ path: "/later", script: "ok" })
    yield* route({
      path: "/fail",
      script: "boom",
      retry: { backoff: "constant", initial_delay_ms: 100, max_attempts: 2, jitter: false }
    })
    yield* call("POST", "/api/admin/triggers", { body: { app, script: "reactor", key_pattern: "orders/**" } }).pipe(
      Effect.flatMap(ok(201))
    )
  })

/** The README's Metrics table: each metric's labels, as written there (`class`: `2xx`, ... is `class`). */
const readmeMetrics = () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
  const section = readme.split(/^## /m).find((part) => part.startsWith("Metrics\n"))
  assert.isDefined(section, "README.md has a ## Metrics section")
  return new Map(
    section!.split("\n").filter((line) => line.startsWith("| `picloud_")).map((line) => {
      const [name, , labels] = line.split("|").slice(1, 4).map((cell) => cell.trim())
      const keys = labels!.includes(":") ? labels!.slice(0, labels!.indexOf(":")) : labels!
      return [name!.replaceAll("`", ""), [...keys.matchAll(/`(\w+)`/g)].map((match) => match[1]!)]
    })
  )
}

/** Every series' label names in a scrape, by metric (the histogram's `le` aside). */
const labelsIn = (metrics: PromMetrics) =>
  new Map(
    Object.entries(metrics).map(([name, metric]) => [
      name,
      [...new Set((metric.data as Array<{ labels: Record<string, string> }>).flatMap((s) => Object.keys(s.labels)))]
        .filter((label) => label !== "le")
    ])
  )

/** How much each of `read`'s values moved between two scrapes. */
const moved = (before: PromMetrics, after: PromMetrics, read: (metrics: PromMetrics) => Record<string, number>) => {
  const [a, b] = [read(before), read(after)]
  return Object.fromEntries(Object.keys(b).map((key) => [key, b[key]! - a[key]!]))
}

describe("GET /metrics", () => {
  it("the README's Metrics table lists every metric the platform defines", () => {
    const defined = Object.values(PlatformMetrics).flatMap((value) => (Metric.isMetric(value) ? [value.id] : []))
    assert.sameMembers([...readmeMetrics().keys()], defined)
  })

  it.live("counters move with sync, async, KV-triggered and failed executions; answers are counted by status class", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith()
      yield* setup(call, "shop")
      const before = yield* scrape(call)

      yield* call("POST", "/api/execute/shop/ok").pipe(Effect.flatMap(ok(200)))
      yield* call("POST", "/api/execute/shop/ok").pipe(Effect.flatMap(ok(200)))
      yield* call("POST", "/api/execute/shop/boom").pipe(Effect.flatMap(ok(502)))
      yield* call("GET", "/api/execute/shop/nothing-here").pipe(Effect.flatMap(ok(404)))
      const later = yield* call("POST", "/shop/later", { token: null }).pipe(Effect.flatMap(ok(202)))
      yield* call("GET", `/api/executions/${later.execution_id}?wait=10`, { token: null }).pipe(Effect.flatMap(ok(200)))
      const fail = yield* call("POST", "/shop/fail", { token: null }).pipe(Effect.flatMap(ok(202)))
      const dead = yield* call("GET", `/api/executions/${fail.execution_id}?wait=10`, { token: null }).pipe(
        Effect.flatMap(ok(200))
      )
      assert.strictEqual(dead.status, "dead_lettered")
      yield* call("POST", "/api/execute/shop/writer").pipe(Effect.flatMap(ok(200)))
      const kvRuns = (metrics: PromMetrics) =>
        valueOf(metrics, "picloud_executions_total", { app: "shop", script: "reactor", kind: "kv" })
      yield* eventually(scrape(call).pipe(Effect.map((metrics) => kvRuns(metrics) > kvRuns(before))))
      const after = yield* scrape(call)

      const executions = (labels: Record<string, string>) => (metrics: PromMetrics) =>
        valueOf(metrics, "picloud_executions_total", { app: "shop", ...labels })
      assert.deepStrictEqual(
        moved(before, after, (m) => ({
          syncOk: executions({ script: "ok", kind: "http", outcome: "succeeded" })(m),
          syncBoom: executions({ script: "boom", kind: "http", outcome: "script_error" })(m),
          asyncOk: executions({ script: "ok", kind: "async", outcome: "succeeded" })(m),
          asyncBoom: executions({ script: "boom", kind: "async", outcome: "script_error" })(m),
          triggered: executions({ script: "reactor", kind: "kv", outcome: "succeeded" })(m),
          writer: executions({ script: "writer", kind: "http", outcome: "succeeded" })(m),
          okDurations: observationsOf(m, "picloud_execution_duration_seconds", { app: "shop", script: "ok" }),
          fanout: valueOf(m, "picloud_trigger_fanout_total", { app: "shop" }),
          asyncClaims: valueOf(m, "picloud_outbox_claims_total", { kind: "async" }),
          kvClaims: valueOf(m, "picloud_outbox_claims_total", { kind: "kv" }),
          retries: valueOf(m, "picloud_outbox_retries_total", { kind: "async" }),
          deadLetters: valueOf(m, "picloud_dead_letters_total", { kind: "async" }),
          rejections: valueOf(m, "picloud_gate_rejections_total")
        })),
        {
          syncOk: 2,
          syncBoom: 1,
          asyncOk: 1,
          asyncBoom: 2,
          triggered: 1,
          writer: 1,
          okDurations: 3,
          fanout: 1,
          asyncClaims: 3,
          kvClaims: 1,
          retries: 1,
          deadLetters: 1,
          rejections: 0
        }
      )
      const answers = moved(before, after, (m) => ({
        "2xx": valueOf(m, "picloud_http_requests_total", { class: "2xx" }),
        "4xx": valueOf(m, "picloud_http_requests_total", { class: "4xx" }),
        "5xx": valueOf(m, "picloud_http_requests_total", { class: "5xx" })
      }))
      // Two sync calls, the writer, two 202s, two reads and every scrape but the last (counted once answered).
      assert.isAtLeast(answers["2xx"]!, 8)
      assert.strictEqual(answers["4xx"], 1)
      assert.strictEqual(answers["5xx"], 1)

      // Every series is documented with its labels, and no label carries anything else (no request data).
      const documented = readmeMetrics()
      for (const [name, labels] of labelsIn(after)) {
        assert.sameMembers(labels, documented.get(name) ?? ["(not in the README)"], name)
      }

      assert.isAbove(valueOf(after, "picloud_process_resident_memory_bytes"), 10 * 1024 * 1024)
      assert.isTrue(valueOf(after, "picloud_event_loop_lag_seconds") > 0, "a queued callback waited")
      const busy = valueOf(after, "picloud_event_loop_utilization")
      assert.isTrue(busy > 0 && busy <= 1, `utilization ${busy}`)
    }))

  it.live("a full gate: its gauges show the permit in use and the waiting async work, its 503s are counted, the outbox's lag shows", () =>
    Effect.gen(function*() {
      const [started, release] = [yield* Deferred.make<void>(), yield* Deferred.make<void>()]
      const call = yield* memoryPlatformWith({ PICLOUD_MAX_CONCURRENT_EXECUTIONS: "1" }, holdingSlow(started, release))
      yield* setup(call, "busy")

      const slow = yield* call("POST", "/api/execute/busy/slow").pipe(Effect.forkChild)
      yield* Deferred.await(started)
      const accepted = []
      for (let i = 0; i < 3; i++) {
        accepted.push(yield* call("POST", "/busy/later", { token: null }).pipe(Effect.flatMap(ok(202))))
      }
      yield* Effect.sleep("200 millis")
      // The outbox is read once here, and kept for the next scrape (5 s).
      const full = yield* scrape(call)
      assert.strictEqual(valueOf(full, "picloud_gate_limit"), 1)
      assert.strictEqual(valueOf(full, "picloud_gate_in_use"), 1)
      // The dispatcher claimed one row, which waits for the permit; two wait in the outbox.
      assert.strictEqual(valueOf(full, "picloud_gate_waiting"), 1)
      assert.strictEqual(valueOf(full, "picloud_outbox_depth"), 3)
      assert.strictEqual(valueOf(full, "picloud_outbox_due"), 2)
      const lag = valueOf(full, "picloud_outbox_oldest_due_age_seconds")
      assert.isTrue(lag >= 0.15 && lag < 5, `lag ${lag}`)

      yield* call("POST", "/api/execute/busy/ok").pipe(Effect.flatMap(ok(503)))
      const refused = yield* scrape(call)
      assert.deepStrictEqual(
        moved(full, refused, (m) => ({
          rejections: valueOf(m, "picloud_gate_rejections_total"),
          "5xx": valueOf(m, "picloud_http_requests_total", { class: "5xx" })
        })),
        { rejections: 1, "5xx": 1 }
      )

      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(slow).pipe(Effect.flatMap(ok(200)))
      for (const { execution_id } of accepted) {
        yield* call("GET", `/api/executions/${execution_id}?wait=10`, { token: null }).pipe(Effect.flatMap(ok(200)))
      }
      const done = yield* scrape(call)
      assert.strictEqual(valueOf(done, "picloud_gate_in_use"), 0)
      assert.strictEqual(valueOf(done, "picloud_gate_waiting"), 0)
      assert.strictEqual(
        valueOf(done, "picloud_executions_total", { app: "busy", script: "ok", kind: "async", outcome: "succeeded" }),
        3
      )
    }))

  it.live("a row not run (too deep) is counted by its outcome, with no duration", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith({ PICLOUD_MAX_TRIGGER_DEPTH: "0" })
      yield* setup(call, "deep")
      const before = yield* scrape(call)
      yield* call("POST", "/api/execute/deep/writer").pipe(Effect.flatMap(ok(200)))
      const refused = (metrics: PromMetrics) =>
        valueOf(metrics, "picloud_executions_total", { app: "deep", script: "reactor", outcome: "depth_exceeded" })
      yield* eventually(scrape(call).pipe(Effect.map((metrics) => refused(metrics) === 1)))
      const after = yield* scrape(call)
      assert.strictEqual(
        valueOf(after, "picloud_trigger_depth_exceeded_total") -
          valueOf(before, "picloud_trigger_depth_exceeded_total"),
        1
      )
      assert.strictEqual(valueOf(after, "picloud_executions_total", { app: "deep", script: "reactor" }), 1)
      assert.strictEqual(
        observationsOf(after, "picloud_execution_duration_seconds", { app: "deep", script: "reactor" }),
        0
      )
    }))

  it.live("with PICLOUD_METRICS_TOKEN, it needs that token as a bearer token; without one it is open", () =>
    Effect.gen(function*() {
      const guarded = yield* memoryPlatformWith({ PICLOUD_METRICS_TOKEN: "scrape-secret" })
      for (const token of [null, "wrong", ADMIN_TOKEN]) {
        const refused = yield* guarded("GET", "/metrics", { token })
        assert.strictEqual(refused.status, 401, refused.text)
        assert.deepStrictEqual(refused.json, {
          error: { code: "unauthorized", message: "a valid bearer token is required" }
        })
      }
      const scraped = yield* scrape(guarded, "scrape-secret")
      assert.strictEqual(scraped["picloud_gate_limit"]?.type, "gauge")

      const open = yield* memoryPlatformWith()
      assert.strictEqual((yield* scrape(open))["picloud_gate_limit"]?.type, "gauge")
    }))
})
