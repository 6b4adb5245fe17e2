/**
 * `npm run bench:schedules`: one all-in-one PiCloud on a PostgreSQL of its own (with
 * pg_stat_statements), measuring
 *
 * 1. lag: an every-second schedule for `SCHEDULE_TICKS` ticks (default 60): per tick, fired − scheduled
 *    (the scheduler's lag, as `last_run.lag_ms` shows it) and started − scheduled (through the
 *    outbox and the dispatcher to the script's start), p50/p99/max;
 * 2. idle: with 10 schedules defined (yearly: none falls due), the queries over `IDLE_SECONDS`
 *    (default 60) with no traffic;
 * 3. the cost of a tick: the same 10 schedules firing every minute, the queries over the minute.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { freePort, startPicloud } from "../test/e2e/picloudProcess.ts"
import { startStandalonePostgres } from "../test/support/standalonePostgres.ts"
import { percentile } from "./stats.ts"

const ticks = Number(process.env.SCHEDULE_TICKS ?? 60)
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 60)
const TOKEN = "bench-schedules"
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const query = async (url: string, text: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(text)
  } finally {
    await client.end()
  }
}

const dir = mkdtempSync(join(tmpdir(), "picloud-bench-schedules-"))
const db = await startStandalonePostgres(dir, { settings: { shared_preload_libraries: "pg_stat_statements" } })
try {
  await query(db.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
  const picloud = await startPicloud({
    dataDir: join(dir, "picloud"),
    port: await freePort(),
    env: { PICLOUD_ADMIN_TOKEN: TOKEN, DATABASE_URL: db.url, LOG_LEVEL: "Warn" }
  })
  /** An admin API call; its answer as JSON (any: a benchmark reads a few known fields). */
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${picloud.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" })
      },
      body: body === undefined ? null : JSON.stringify(body)
    })
    const json = await res.json().catch(() => undefined)
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
    return json
  }
  /** Statements and their calls since the last reset, busiest first. */
  const statements = async () => {
    const { rows } = await query(
      db.url,
      "SELECT calls, query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC"
    )
    const total = rows.reduce((n, row) => n + Number(row.calls), 0)
    return `${total}${
      rows.map((row) => `\n  ${row.calls} × ${String(row.query).replace(/\s+/g, " ").slice(0, 100)}`).join("")
    }`
  }
  try {
    // 1. Lag over `ticks` ticks of an every-second schedule.
    const script = await call("POST", "/api/admin/scripts", {
      name: "tick",
      source: "export default async (req, ctx) => { await kv.set('tick/' + ctx.executionId, ctx.event) }"
    })
    const every = await call("POST", "/api/admin/schedules", {
      name: "every-second",
      cron: "* * * * * *",
      script: "tick"
    })
    await sleep((ticks + 1.5) * 1000)
    await call("PATCH", `/api/admin/schedules/${every.id}`, { enabled: false })
    await sleep(2000)
    const records: Array<{ id: string; started_at: string }> = []
    let cursor: string | null = null
    do {
      const page: { items: Array<{ id: string; started_at: string }>; next_cursor: string | null } = await call(
        "GET",
        `/api/admin/executions?script=${script.id}&limit=200${
          cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`
        }`
      )
      records.push(...page.items)
      cursor = page.next_cursor
    } while (cursor !== null)
    const fired: Array<number> = []
    const started: Array<number> = []
    for (const record of records.sort((a, b) => (a.started_at < b.started_at ? -1 : 1)).slice(0, ticks)) {
      const { value } = await call("GET", `/api/admin/apps/default/kv/${encodeURIComponent(`tick/${record.id}`)}`)
      fired.push(Date.parse(value.fired_at) - Date.parse(value.scheduled_at))
      started.push(Date.parse(record.started_at) - Date.parse(value.scheduled_at))
    }
    const summary = (xs: Array<number>) => {
      const sorted = [...xs].sort((a, b) => a - b)
      return `p50 ${percentile(sorted, 0.5)} ms, p99 ${percentile(sorted, 0.99)} ms, max ${sorted.at(-1)} ms`
    }
    console.log(`every-second schedule, ${fired.length} ticks (of ${records.length} runs):`)
    console.log(`  lag (fired − scheduled): ${summary(fired)}`)
    console.log(`  start (started − scheduled): ${summary(started)}`)

    // 2. Idle, with 10 schedules defined.
    for (let i = 0; i < 10; i++) {
      await call("POST", "/api/admin/schedules", { name: `yearly-${i}`, cron: `0 ${i} 1 1 *`, script: "tick" })
    }
    await sleep(2000)
    await query(db.url, "SELECT pg_stat_statements_reset()")
    await sleep(idleSeconds * 1000)
    console.log(`queries over ${idleSeconds} s idle with 10 schedules defined: ${await statements()}`)

    // 3. The same 10 schedules every minute: what ticks cost.
    const { items } = await call("GET", "/api/admin/schedules")
    for (const schedule of items.filter((s: { name: string }) => s.name.startsWith("yearly-"))) {
      await call("PATCH", `/api/admin/schedules/${schedule.id}`, { cron: "* * * * *" })
    }
    // From just after one minute's ticks to just after the next's: one tick of each schedule.
    await sleep(60_000 - (Date.now() % 60_000) + 2000)
    await query(db.url, "SELECT pg_stat_statements_reset()")
    await sleep(60_000)
    console.log(`queries over 60 s with the 10 schedules firing every minute (10 ticks): ${await statements()}`)
  } finally {
    picloud.child.kill("SIGTERM")
    await picloud.exited
  }
} finally {
  await db.stop()
  rmSync(dir, { recursive: true, force: true })
}
