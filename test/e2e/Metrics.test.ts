import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { observationsOf, parseMetrics, type PromMetrics, valueOf } from "../support/prometheus.ts"
import { freePort, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-metrics-admin-token"
const SCRAPE_TOKEN = "e2e-metrics-scrape-token"
let dataDir = ""
let picloud: Awaited<ReturnType<typeof startPicloud>>

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "picloud-metrics-"))
  picloud = await startPicloud({
    dataDir,
    port: await freePort(),
    env: { PICLOUD_ADMIN_TOKEN: TOKEN, PICLOUD_METRICS_TOKEN: SCRAPE_TOKEN }
  })
}, 120_000)
afterAll(async () => {
  picloud?.child.kill("SIGTERM")
  await picloud?.exited
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}, 60_000)

const request = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
  const res = await fetch(`${picloud.url}${path}`, {
    signal: AbortSignal.timeout(30_000),
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    body: body === undefined ? null : JSON.stringify(body)
  })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

const scrape = async (): Promise<PromMetrics> => {
  const res = await request("GET", "/metrics", undefined, SCRAPE_TOKEN)
  assert.strictEqual(res.status, 200, res.text)
  assert.strictEqual(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
  return parseMetrics(res.text)
}

describe("e2e: GET /metrics on the real process", () => {
  it("needs PICLOUD_METRICS_TOKEN when it is set", async () => {
    for (const token of [null, "wrong", TOKEN]) {
      const res = await request("GET", "/metrics", undefined, token)
      assert.strictEqual(res.status, 401, res.text)
      assert.strictEqual(JSON.parse(res.text).error.code, "unauthorized")
    }
  })

  it("parses as Prometheus text: process gauges, the gate, the outbox, and execution counters that move with traffic", async () => {
    const first = await scrape()
    assert.isAbove(valueOf(first, "picloud_process_resident_memory_bytes"), 20 * 1024 * 1024)
    const lag = valueOf(first, "picloud_event_loop_lag_seconds")
    assert.isTrue(lag > 0 && lag < 1, `event-loop lag ${lag} s`)
    const busy = valueOf(first, "picloud_event_loop_utilization")
    assert.isTrue(busy > 0 && busy <= 1, `utilization ${busy}`)
    assert.strictEqual(valueOf(first, "picloud_gate_limit"), 32)
    assert.strictEqual(valueOf(first, "picloud_gate_in_use"), 0)
    assert.strictEqual(first["picloud_outbox_depth"]?.type, "gauge")
    assert.strictEqual(valueOf(first, "picloud_outbox_oldest_due_age_seconds"), 0)

    for (
      const [name, source] of [
        ["hello", `export default () => ({ statusCode: 200, body: "hi" })`],
        ["broken", `export default () => { throw new Error("no") }`]
      ]
    ) {
      assert.strictEqual((await request("POST", "/api/admin/scripts", { name, source })).status, 201)
    }
    for (let i = 0; i < 3; i++) assert.strictEqual((await request("POST", "/api/execute/hello")).status, 200)
    assert.strictEqual((await request("POST", "/api/execute/broken")).status, 502)

    const after = await scrape()
    const executions = (metrics: PromMetrics, labels: Record<string, string>) =>
      valueOf(metrics, "picloud_executions_total", { app: "default", kind: "http", ...labels })
    assert.strictEqual(executions(after, { script: "hello", outcome: "succeeded" }), 3)
    assert.strictEqual(executions(after, { script: "broken", outcome: "script_error" }), 1)
    assert.strictEqual(observationsOf(after, "picloud_execution_duration_seconds", { script: "hello" }), 3)
    assert.strictEqual(
      valueOf(after, "picloud_http_requests_total", { class: "5xx" }) -
        valueOf(first, "picloud_http_requests_total", { class: "5xx" }),
      1
    )
    assert.isAtLeast(
      valueOf(after, "picloud_http_requests_total", { class: "2xx" }) -
        valueOf(first, "picloud_http_requests_total", { class: "2xx" }),
      6
    )
  })

  it("counts KV fan-out and the triggered runs under the app's name, read from PostgreSQL", async () => {
    assert.strictEqual((await request("POST", "/api/admin/apps", { name: "shop" })).status, 201)
    const reactor = `export default async (req, ctx) => { await kv.get(ctx.event.key) }`
    assert.strictEqual(
      (await request("POST", "/api/admin/scripts", { app: "shop", name: "reactor", source: reactor })).status,
      201
    )
    const trigger = await request("POST", "/api/admin/triggers", {
      app: "shop",
      script: "reactor",
      key_pattern: "orders/*"
    })
    assert.strictEqual(trigger.status, 201, trigger.text)
    // An admin's write: no execution of the app ran before, so its name is read from the database.
    assert.strictEqual((await request("PUT", "/api/admin/apps/shop/kv/orders%2F1", { n: 1 })).status, 200)
    const deadline = Date.now() + 20_000
    let metrics = await scrape()
    const runs = (m: PromMetrics) =>
      valueOf(m, "picloud_executions_total", { app: "shop", script: "reactor", kind: "kv", outcome: "succeeded" })
    while (runs(metrics) < 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      metrics = await scrape()
    }
    assert.strictEqual(runs(metrics), 1)
    assert.strictEqual(valueOf(metrics, "picloud_trigger_fanout_total", { app: "shop" }), 1)
    assert.strictEqual(valueOf(metrics, "picloud_outbox_claims_total", { kind: "kv" }), 1)
  })
})
