/**
 * The kv part of `npm run bench`: a script doing one `kv.get` and one `kv.set` per request (a
 * counter on the key `?k=` names, over KV_KEYS keys) against a raw node:http + node-postgres server
 * doing the same read and locked upsert (bench/rawKvServer.ts), in alternating rounds of the same
 * run. Both use one PostgreSQL of our own (PiCloud through `DATABASE_URL`), the same `kv` table and
 * the same rows, and pools of the same size (`PICLOUD_DB_MAX_CONNECTIONS`, PiCloud's default 10).
 *
 * After each sample the `kv` versions are summed again: every 2xx answer must have committed its
 * write (a few more commits are fine: requests in flight when the load stops still finish).
 *
 * Then the trigger latency at light load: one at a time, a script writes a key that a trigger
 * watches; from just before the client's request to the triggered run's `started_at` (read from
 * the writer's causal tree), p50 and p99 over `TRIGGER_SAMPLES` writes.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { freePort, spawnLogged, startPicloud, waitFor } from "../test/e2e/picloudProcess.ts"
import { startStandalonePostgres } from "../test/support/standalonePostgres.ts"
import { driveRandomKeys, formatMedians, formatRound, medianSample, type Sample } from "./load.ts"
import { percentile } from "./stats.ts"
import { KV_KEYS, kvKey, kvSource } from "./workload.ts"

const TOKEN = "bench-kv-token"
const TRIGGER_SAMPLES = 200
/** Not counted: connections, JIT, the first plans, on each side. */
const WARM_UP_SECONDS = 2

export const runKvBench = async (
  options: {
    readonly rounds: number
    readonly durationSeconds: number
    readonly connections: number
    /** When set, PiCloud runs with `--cpu-prof` and writes its threads' profiles there. */
    readonly cpuProfileDir?: string | undefined
  }
) => {
  const dir = mkdtempSync(join(tmpdir(), "picloud-bench-kv-"))
  const database = await startStandalonePostgres(dir)
  const poolSize = process.env.PICLOUD_DB_MAX_CONNECTIONS ?? "10"
  const picloud = await startPicloud({
    dataDir: join(dir, "data"),
    port: await freePort(),
    env: {
      PICLOUD_ADMIN_TOKEN: TOKEN,
      DATABASE_URL: database.url,
      PICLOUD_DB_MAX_CONNECTIONS: poolSize,
      LOG_LEVEL: "Warn",
      ...(options.cpuProfileDir === undefined
        ? {}
        : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.cpuProfileDir}` })
    }
  })
  // Started once PiCloud has migrated the database: it looks the default app up at start.
  const rawPort = await freePort()
  const raw = spawnLogged(
    process.execPath,
    [fileURLToPath(new URL("rawKvServer.ts", import.meta.url)), String(rawPort), database.url, poolSize],
    {}
  )
  const db = new pg.Client({ connectionString: database.url })
  try {
    await db.connect()
    const res = await fetch(`${picloud.url}/api/admin/scripts`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "kv", source: kvSource })
    })
    if (res.status !== 201) throw new Error(`deploying kv: ${res.status} ${await res.text()}`)
    await waitFor(`http://127.0.0.1:${rawPort}/kv?k=0`, 10_000, raw)
    // Every key exists from the start: both sides update rows, neither spends a round inserting them.
    await db.query(
      `INSERT INTO kv (app_id, key, value, version)
       SELECT apps.id, $1 || k, '0', 1 FROM apps, generate_series(0, $2::int - 1) AS k WHERE apps.name = 'default'
       ON CONFLICT DO NOTHING`,
      [kvKey(""), KV_KEYS]
    )
    const commits = async () =>
      Number(
        (await db.query<{ n: string }>("SELECT coalesce(sum(version), 0) AS n FROM kv WHERE key LIKE 'bench/%'"))
          .rows[0]!.n
      )

    const targets = {
      "raw kv": `http://127.0.0.1:${rawPort}/kv`,
      "picloud kv": `${picloud.url}/api/execute/kv`
    }
    const load = (durationSeconds: number) => ({
      connections: options.connections,
      durationSeconds,
      headers: { authorization: `Bearer ${TOKEN}` },
      keys: KV_KEYS
    })
    console.log(
      `\nkv: ${options.rounds} round(s) of ${options.durationSeconds} s per target, ${options.connections} connections, ` +
        `${KV_KEYS} keys, pools of ${poolSize} connections, one PostgreSQL`
    )
    for (const url of Object.values(targets)) await driveRandomKeys(url, load(WARM_UP_SECONDS))

    const samples = new Map<string, Array<Sample>>()
    for (let round = 1; round <= options.rounds; round++) {
      for (const [label, url] of Object.entries(targets)) {
        const before = await commits()
        const sample = await driveRandomKeys(url, load(options.durationSeconds))
        const committed = (await commits()) - before
        if (committed < sample.ok) {
          throw new Error(`${label}: ${sample.ok} answers of 2xx but only ${committed} writes committed`)
        }
        samples.set(label, [...(samples.get(label) ?? []), sample])
        console.log(formatRound(round, label, sample))
      }
    }
    const summary = (label: string) => medianSample(samples.get(label)!)
    console.log(formatMedians("kv medians", Object.keys(targets).map((label) => [label, summary(label)])))
    console.log(
      `\nratio platform/raw (req/s)\n  kv       ${(summary("picloud kv").rps / summary("raw kv").rps).toFixed(2)}`
    )
    await triggerLatency(picloud.url)
  } finally {
    await db.end()
    raw.child.kill("SIGTERM")
    picloud.child.kill("SIGTERM")
    await Promise.all([raw.exited, picloud.exited])
    await database.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const admin = async (base: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    body: body === undefined ? null : JSON.stringify(body)
  })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  const text = await res.text()
  return { json: text.startsWith("{") ? JSON.parse(text) : undefined, headers: res.headers }
}

/** Write → triggered start, one write at a time (docs: README Performance). */
const triggerLatency = async (base: string) => {
  await admin(base, "POST", "/api/admin/scripts", {
    name: "lat-writer",
    source: `export default async (req) => { await kv.set("lat/" + req.query.i, 1); return "ok" }`
  })
  await admin(base, "POST", "/api/admin/scripts", { name: "lat-noop", source: `export default () => undefined` })
  await admin(base, "POST", "/api/admin/triggers", { script: "lat-noop", key_pattern: "lat/*" })
  const latencies: Array<number> = []
  for (let i = 0; i < TRIGGER_SAMPLES; i++) {
    const sent = Date.now()
    const { headers } = await admin(base, "POST", `/api/execute/lat-writer?i=${i}`)
    const writer = headers.get("x-picloud-execution-id")!
    for (;;) {
      const { json } = await admin(base, "GET", `/api/admin/executions/${writer}/tree`)
      const child = json.root.children[0]
      if (child?.started_at) {
        latencies.push(Date.parse(child.started_at) - sent)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  }
  latencies.sort((a, b) => a - b)
  console.log(
    `\nkv trigger: write -> triggered start, ${TRIGGER_SAMPLES} writes one at a time\n` +
      `  p50 ${percentile(latencies, 0.5)} ms  p99 ${percentile(latencies, 0.99)} ms`
  )
}
