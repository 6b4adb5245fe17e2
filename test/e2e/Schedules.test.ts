import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterAll, assert, describe, it } from "vitest"
import { type StandalonePostgres, startStandalonePostgres } from "../support/standalonePostgres.ts"
import { exitWithin, freePort, jsonClient, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-schedules-token"
const dirs: Array<string> = []
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

type Picloud = Awaited<ReturnType<typeof startPicloud>>

const request = (base: string, method: string, path: string, body?: unknown) =>
  jsonClient(() => base, TOKEN)(method, path, body)
const expectStatus = async (pending: ReturnType<typeof request>, status: number) => {
  const res = await pending
  assert.strictEqual(res.status, status, res.text)
  return res.json
}

const query = async (url: string, text: string, params: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(text, [...params])
  } finally {
    await client.end()
  }
}

/** Records each run's tick under `seen/<schedule>/<execution id>`: a tick run twice shows twice. */
const AUDIT = `export default async (req, ctx) => {
  await kv.set("seen/" + ctx.event.name + "/" + ctx.executionId, { ...ctx.event, invocation: ctx.invocation })
}`

interface Tick {
  readonly schedule_id: string
  readonly name: string
  readonly scheduled_at: string
  readonly fired_at: string
  readonly invocation: string
}

/** Every tick a schedule's runs recorded, by `scheduled_at`. */
const seen = async (base: string, name: string): Promise<Array<Tick>> => {
  const ticks: Array<Tick> = []
  let cursor: string | null = null
  do {
    const page: { items: Array<{ value: Tick }>; cursor: string | null } = await expectStatus(
      request(
        base,
        "GET",
        `/api/admin/apps/default/kv?prefix=${encodeURIComponent(`seen/${name}/`)}&limit=100${
          cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`
        }`
      ),
      200
    )
    ticks.push(...page.items.map((item) => item.value))
    cursor = page.cursor
  } while (cursor !== null)
  return ticks.sort((a, b) => (a.scheduled_at < b.scheduled_at ? -1 : 1))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const createSchedule = (base: string, body: Record<string, unknown>) =>
  expectStatus(request(base, "POST", "/api/admin/schedules", { script: "audit", ...body }), 201)

/** PiCloud processes (each its own node) on one PostgreSQL of the test's own. */
const onOwnDatabase = async (
  options: { readonly processes?: number; readonly settings?: Record<string, string> },
  body: (picloud: ReadonlyArray<Picloud>, db: StandalonePostgres) => Promise<void>
) => {
  const db = await startStandalonePostgres(tempDir("picloud-pg-"), {
    ...(options.settings ? { settings: options.settings } : {})
  })
  const running: Array<Picloud> = []
  try {
    for (let i = 0; i < (options.processes ?? 1); i++) {
      running.push(
        await startPicloud({
          dataDir: tempDir("picloud-ext-"),
          port: await freePort(),
          env: { PICLOUD_ADMIN_TOKEN: TOKEN, DATABASE_URL: db.url, PICLOUD_NODE_ID: `node-${i}` }
        })
      )
    }
    await expectStatus(request(running[0]!.url, "POST", "/api/admin/scripts", { name: "audit", source: AUDIT }), 201)
    await body(running, db)
  } finally {
    for (const picloud of running) {
      picloud.child.kill("SIGTERM")
      await exitWithin(picloud)
    }
    await db.stop()
  }
}

describe("e2e: schedules", () => {
  it("an every-second schedule runs about once a second for 10 s, each tick once, as a schedule", async () => {
    const picloud = await startPicloud({
      dataDir: tempDir("picloud-schedules-"),
      port: await freePort(),
      env: { PICLOUD_ADMIN_TOKEN: TOKEN }
    })
    try {
      await expectStatus(request(picloud.url, "POST", "/api/admin/scripts", { name: "audit", source: AUDIT }), 201)
      const created = await createSchedule(picloud.url, { name: "every-second", cron: "* * * * * *" })
      await sleep(10_000)
      await expectStatus(
        request(picloud.url, "PATCH", `/api/admin/schedules/${created.id}`, { enabled: false }),
        200
      )
      await sleep(1_000)
      const ticks = await seen(picloud.url, "every-second")
      const at = ticks.map((t) => Date.parse(t.scheduled_at))
      assert.isAtLeast(ticks.length, 9, JSON.stringify(ticks.map((t) => t.scheduled_at)))
      assert.isAtMost(ticks.length, 11)
      assert.deepStrictEqual(at.slice(1).map((t, i) => t - at[i]!), Array(at.length - 1).fill(1000), "one a second")
      assert.isTrue(ticks.every((t) => t.invocation === "schedule" && t.schedule_id === created.id))
      const lags = ticks.map((t) => Date.parse(t.fired_at) - Date.parse(t.scheduled_at))
      console.log(
        `every second for 10 s: ${ticks.length} runs; lag p50 ${percentile(lags, 50)} ms, max ${Math.max(...lags)} ms`
      )
      assert.isBelow(Math.max(...lags), 1000)
      const detail = await expectStatus(request(picloud.url, "GET", `/api/admin/schedules/${created.id}`), 200)
      assert.strictEqual(detail.skipped_ticks, 0)
      assert.strictEqual(detail.last_run.scheduled_at, ticks.at(-1)!.scheduled_at)
      assert.strictEqual(detail.last_run.status, "succeeded")
    } finally {
      picloud.child.kill("SIGTERM")
      await exitWithin(picloud)
    }
  }, 120_000)

  it(
    "two processes on one PostgreSQL fire each tick of one schedule exactly once",
    () =>
      onOwnDatabase(
        { processes: 2, settings: { shared_preload_libraries: "pg_stat_statements" } },
        async ([a, b], db) => {
          await query(db.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
          await query(db.url, "SELECT pg_stat_statements_reset()")
          const created = await createSchedule(a!.url, { name: "shared", cron: "* * * * * *" })
          await sleep(8_000)
          await expectStatus(request(b!.url, "PATCH", `/api/admin/schedules/${created.id}`, { enabled: false }), 200)
          await sleep(1_000)
          const ticks = await seen(a!.url, "shared")
          const scheduled = ticks.map((t) => t.scheduled_at)
          assert.deepStrictEqual(scheduled, [...new Set(scheduled)], "no tick twice")
          assert.isAtLeast(ticks.length, 6)
          const at = scheduled.map(Date.parse)
          assert.deepStrictEqual(
            at.slice(1).map((t, i) => t - at[i]!),
            Array(at.length - 1).fill(1000),
            "no tick missed"
          )
          // The guarded advance: as many rows moved as ticks run, however many times the two tried.
          const { rows } = await query(
            db.url,
            "SELECT calls, rows FROM pg_stat_statements WHERE query LIKE 'UPDATE schedules SET next_run_at%'"
          )
          const advances = rows.reduce((n, row) => n + Number(row.rows), 0)
          const tries = rows.reduce((n, row) => n + Number(row.calls), 0)
          assert.strictEqual(advances, ticks.length)
          console.log(`two processes, 8 s: ${ticks.length} ticks, each once; ${tries} advances tried, ${advances} made`)
        }
      ),
    120_000
  )

  it("a restart after downtime applies each schedule's missed policy", () =>
    onOwnDatabase({}, async ([first], db) => {
      // Every second: 5 s down. Daily, at an hour at least 11 h past: its next tick moved 3 days back while down.
      const hour = (new Date().getUTCHours() + 12) % 24
      for (const missed of ["skip", "all"]) {
        await createSchedule(first!.url, { name: `second-${missed}`, cron: "* * * * * *", missed })
      }
      for (const missed of ["skip", "once", "all"]) {
        await createSchedule(first!.url, { name: `daily-${missed}`, cron: `0 ${hour} * * *`, missed })
      }
      await sleep(2_500)
      first!.child.kill("SIGTERM")
      await exitWithin(first!)
      const stoppedAt = Date.now()
      const back = new Date()
      back.setUTCDate(back.getUTCDate() - 3)
      back.setUTCHours(hour, 0, 0, 0)
      await query(db.url, "UPDATE schedules SET next_run_at = $1 WHERE name LIKE 'daily-%'", [back.toISOString()])
      // The daily ticks from then to now, all missed by far more than the grace.
      const dailyTicks: Array<string> = []
      for (let t = back.getTime(); t <= Date.now(); t += 86_400_000) dailyTicks.push(new Date(t).toISOString())
      await sleep(5_000)
      const second = await startPicloud({
        dataDir: tempDir("picloud-ext-"),
        port: await freePort(),
        env: { PICLOUD_ADMIN_TOKEN: TOKEN, DATABASE_URL: db.url, PICLOUD_NODE_ID: "node-0" }
      })
      try {
        const downMs = Date.now() - stoppedAt
        await sleep(2_500)
        const schedules: Array<{ id: string; name: string; skipped_ticks: number }> = (
          await expectStatus(request(second.url, "GET", "/api/admin/schedules"), 200)
        ).items
        for (const { id } of schedules) {
          await expectStatus(request(second.url, "PATCH", `/api/admin/schedules/${id}`, { enabled: false }), 200)
        }
        await sleep(1_000)
        const skipped = Object.fromEntries(
          (await expectStatus(request(second.url, "GET", "/api/admin/schedules"), 200)).items.map((
            s: { name: string; skipped_ticks: number }
          ) => [s.name, s.skipped_ticks])
        )
        const gaps = async (name: string) => {
          const at = (await seen(second.url, name)).map((t) => Date.parse(t.scheduled_at))
          return { count: at.length, gaps: at.slice(1).map((t, i) => t - at[i]!).filter((gap) => gap > 1000) }
        }
        // skip: the ticks while down never ran (one gap as long as the outage), and are counted.
        const secondSkip = await gaps("second-skip")
        assert.strictEqual(secondSkip.gaps.length, 1, JSON.stringify(secondSkip))
        // The outage lasted from the first's stop to the second's scheduler starting: at least the
        // 5 s sleep, at most until the second answered /health (its start can be slow on a busy machine).
        assert.isAtLeast(secondSkip.gaps[0]!, 5_000 - 1_000)
        assert.isAtMost(secondSkip.gaps[0]!, downMs + 1_500)
        assert.approximately(skipped["second-skip"], secondSkip.gaps[0]! / 1000 - 1, 1)
        // all: each tick ran, the missed ones when it came back.
        const secondAll = await gaps("second-all")
        assert.deepStrictEqual(secondAll.gaps, [], "no tick missing")
        assert.strictEqual(skipped["second-all"], 0)
        // The daily ones, down for days.
        const daily = async (name: string) => (await seen(second.url, name)).map((t) => t.scheduled_at)
        assert.deepStrictEqual(await daily("daily-skip"), [])
        assert.strictEqual(skipped["daily-skip"], dailyTicks.length)
        assert.deepStrictEqual(await daily("daily-once"), [dailyTicks.at(-1)])
        assert.strictEqual(skipped["daily-once"], dailyTicks.length - 1)
        assert.deepStrictEqual(await daily("daily-all"), dailyTicks)
        assert.strictEqual(skipped["daily-all"], 0)
        console.log(
          `restart after ${downMs} ms down: every-second skip ${secondSkip.count} runs (${
            skipped["second-skip"]
          } skipped), ` +
            `all ${secondAll.count} runs; daily ${dailyTicks.length} ticks missed: skip 0 runs, once 1, all ${dailyTicks.length}`
        )
      } finally {
        second.child.kill("SIGTERM")
        await exitWithin(second)
      }
    }), 180_000)

  it(
    "the database going away and back: the scheduler restarts by itself and catches up (missed: all)",
    () =>
      onOwnDatabase({}, async ([picloud], db) => {
        const created = await createSchedule(picloud!.url, { name: "through", cron: "* * * * * *", missed: "all" })
        await sleep(2_000)
        await db.restart(3_000)
        await sleep(5_000)
        await expectStatus(
          request(picloud!.url, "PATCH", `/api/admin/schedules/${created.id}`, { enabled: false }),
          200
        )
        await sleep(1_000)
        const at = (await seen(picloud!.url, "through")).map((t) => Date.parse(t.scheduled_at))
        assert.isAtLeast(at.length, 8, "ticks before, during and after the outage")
        assert.deepStrictEqual(at.slice(1).map((t, i) => t - at[i]!).filter((gap) => gap !== 1000), [], "none missing")
        assert.deepStrictEqual(at, [...new Set(at)], "none twice")
        console.log(`database down 3 s: ${at.length} ticks, none missing, none twice`)
      }),
    120_000
  )

  it(
    "idle with 10 schedules defined, the only query is the dispatcher's fallback poll: the scheduler sleeps",
    () =>
      onOwnDatabase({ settings: { shared_preload_libraries: "pg_stat_statements" } }, async ([picloud], db) => {
        const zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
        for (let i = 0; i < 10; i++) {
          await createSchedule(picloud!.url, { name: `yearly-${i}`, cron: `0 ${i} 1 1 *`, timezone: zones[i % 5] })
        }
        await query(db.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await sleep(1000)
        await query(db.url, "SELECT pg_stat_statements_reset()")
        const idleSeconds = 16
        await sleep(idleSeconds * 1000)
        const { rows } = await query(
          db.url,
          "SELECT calls, query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"
        )
        const statements = rows.map((r) => ({
          calls: Number(r.calls),
          query: String(r.query).replace(/\s+/g, " ").slice(0, 80)
        }))
        console.log(`idle ${idleSeconds} s with 10 schedules: ${JSON.stringify(statements)}`)
        assert.strictEqual(statements.length, 1, JSON.stringify(statements))
        assert.match(statements[0]!.query, /^WITH due AS/)
        assert.isAtMost(statements[0]!.calls, idleSeconds / 5 + 1)
      }),
    120_000
  )
})
