import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterAll, assert, describe, it } from "vitest"
import { type StandalonePostgres, startStandalonePostgres } from "../support/standalonePostgres.ts"
import { exitWithin, freePort, jsonClient, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-async-token"
const dirs: Array<string> = []
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

const request = (base: string, method: string, path: string, body?: unknown) =>
  jsonClient(() => base, TOKEN)(method, path, body)

/** Roughly 5 ms of work, so a thousand executions take a few seconds: long enough to crash mid-run. */
const WORK =
  `export default (req) => { const end = Date.now() + 5; while (Date.now() < end) {} return { n: req.params.n } }`

const deployAsyncRoute = async (base: string) => {
  const script = await request(base, "POST", "/api/admin/scripts", { name: "work", source: WORK })
  assert.strictEqual(script.status, 201, script.text)
  const route = await request(base, "POST", "/api/admin/routes", {
    method: "POST",
    path: "/work/:n",
    script: "work",
    dispatch_mode: "async",
    retry: { backoff: "constant", initial_delay_ms: 200, max_attempts: 5 }
  })
  assert.strictEqual(route.status, 201, route.text)
}

/** Sends `count` async requests, 32 at a time; `onAccepted` sees each accepted id. Failures are returned, not thrown. */
const sendAll = async (base: string, ns: ReadonlyArray<number>, onAccepted: (n: number, id: string) => void) => {
  const failed: Array<number> = []
  let next = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < ns.length) {
      const n = ns[next++]!
      try {
        const res = await request(base, "POST", `/default/work/${n}`)
        if (res.status === 202) onAccepted(n, res.json.execution_id)
        else failed.push(n)
      } catch {
        failed.push(n)
      }
    }
  }))
  return failed
}

/** Waits for every execution to end; returns the final statuses. */
const results = async (base: string, ids: ReadonlyMap<number, string>) => {
  const out = new Map<number, { status: string; attempts: number; body?: string }>()
  const entries = [...ids]
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < entries.length) {
      const [n, id] = entries[next++]!
      let res = await request(base, "GET", `/api/executions/${id}?wait=30`)
      for (let tries = 0; res.status === 202 && tries < 3; tries++) {
        res = await request(base, "GET", `/api/executions/${id}?wait=30`)
      }
      out.set(n, {
        status: res.json?.status ?? `http ${res.status}`,
        attempts: res.json?.attempts,
        body: res.json?.result?.body
      })
    }
  }))
  return out
}

const assertAllSucceeded = (
  ids: ReadonlyMap<number, string>,
  final: ReadonlyMap<number, { status: string; body?: string }>
) => {
  const notSucceeded = [...ids.keys()].filter((n) => final.get(n)?.status !== "succeeded")
  assert.deepStrictEqual(notSucceeded.map((n) => [n, final.get(n)]), [], "every accepted execution ends succeeded")
  for (const [n, result] of final) assert.deepStrictEqual(JSON.parse(result.body!), { n: String(n) })
}

/** One query on its own connection (a held one would die with a database restart). */
const query = async (url: string, text: string, params: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(text, [...params])
  } finally {
    await client.end()
  }
}

/** PiCloud on a PostgreSQL of the test's own, so the test can restart it or read its statistics. */
const onOwnDatabase = async (
  options: { readonly settings?: Record<string, string>; readonly env?: Record<string, string> },
  body: (picloud: Awaited<ReturnType<typeof startPicloud>>, db: StandalonePostgres) => Promise<void>
) => {
  const db = await startStandalonePostgres(tempDir("picloud-pg-"), {
    ...(options.settings ? { settings: options.settings } : {})
  })
  try {
    const picloud = await startPicloud({
      dataDir: tempDir("picloud-ext-"),
      port: await freePort(),
      env: { PICLOUD_ADMIN_TOKEN: TOKEN, DATABASE_URL: db.url, ...options.env }
    })
    try {
      await deployAsyncRoute(picloud.url)
      await body(picloud, db)
    } finally {
      picloud.child.kill("SIGTERM")
      await exitWithin(picloud)
    }
  } finally {
    await db.stop()
  }
}

describe("async dispatch against real processes", () => {
  it("kill -9 mid-run loses nothing: after a restart every accepted execution ends succeeded", async () => {
    const dataDir = tempDir("picloud-crash-")
    const port = await freePort()
    const env = { PICLOUD_ADMIN_TOKEN: TOKEN }
    const first = await startPicloud({ dataDir, port, env })
    const accepted = new Map<number, string>()
    const ns = Array.from({ length: 1000 }, (_, i) => i)
    let unsent: Array<number>
    try {
      await deployAsyncRoute(first.url)
      unsent = await sendAll(first.url, ns, (n, id) => {
        accepted.set(n, id)
        if (accepted.size === 400) first.child.kill("SIGKILL")
      })
      assert.strictEqual(await exitWithin(first), "SIGKILL")
    } finally {
      first.child.kill("SIGKILL")
    }
    const second = await startPicloud({ dataDir, port, env })
    try {
      // What the dead process never answered was never accepted: the client sends it again.
      const failedAgain = await sendAll(second.url, unsent, (n, id) => accepted.set(n, id))
      assert.deepStrictEqual(failedAgain, [])
      assert.strictEqual(accepted.size, 1000)
      const final = await results(second.url, accepted)
      assertAllSucceeded(accepted, final)
      const ranAgain = [...final.values()].filter((r) => r.attempts > 1).length
      console.log(
        `crash test: ${unsent.length} requests refused by the killed process and resent; ${ranAgain} of 1000 executions were claimed more than once`
      )
      // Only the executions claimed when the process died may run twice: at most a claim batch
      // (32) plus what the gate had running.
      assert.isAtMost(ranAgain, 64)
    } finally {
      second.child.kill("SIGTERM")
      await exitWithin(second)
    }
  }, 180_000)

  it(
    "a database restart under load: the platform recovers by itself and nothing accepted is lost",
    () =>
      onOwnDatabase({}, async (picloud, db) => {
        const accepted = new Map<number, string>()
        const t0 = Date.now()
        const load = sendAll(picloud.url, Array.from({ length: 600 }, (_, i) => i), (n, id) => accepted.set(n, id))
        await new Promise((r) => setTimeout(r, 300))
        await db.restart(1500)
        const refused = await load
        const loadDone = Date.now()
        // Requests during the outage may be refused (500/503), never accepted and then dropped.
        const retried = await sendAll(picloud.url, refused, (n, id) => accepted.set(n, id))
        const retryDone = Date.now()
        assert.deepStrictEqual(retried, [], "accepted again once the database is back")
        assert.strictEqual(accepted.size, 600)
        assertAllSucceeded(accepted, await results(picloud.url, accepted))
        const health = await request(picloud.url, "GET", "/health")
        assert.strictEqual(health.status, 200, health.text)
        console.log(
          `database restart: ${refused.length} of 600 requests refused during the outage, all accepted on retry and run; ` +
            `load ${loadDone - t0} ms, resend ${retryDone - loadDone} ms, results ${Date.now() - retryDone} ms`
        )
      }),
    180_000
  )

  it(
    "async work keeps moving while sync traffic holds the gate full; a waiter that hangs up is recorded",
    () =>
      onOwnDatabase({ env: { PICLOUD_MAX_CONCURRENT_EXECUTIONS: "2" } }, async (picloud, db) => {
        const busy = await request(picloud.url, "POST", "/api/admin/scripts", {
          name: "busy",
          source: `export default () => { const end = Date.now() + 20; while (Date.now() < end) {} return "ok" }`
        })
        assert.strictEqual(busy.status, 201, busy.text)
        let hammering = true
        let overloaded = 0
        // More sync callers than the gate has slots: it is full all the time.
        const hammer = Promise.all(Array.from({ length: 4 }, async () => {
          while (hammering) {
            const res = await request(picloud.url, "POST", "/api/execute/busy")
            if (res.status === 503) overloaded++
          }
        }))
        await new Promise((r) => setTimeout(r, 500))
        const accepted = new Map<number, string>()
        const started = Date.now()
        assert.deepStrictEqual(
          await sendAll(picloud.url, Array.from({ length: 100 }, (_, i) => i), (n, id) => accepted.set(n, id)),
          []
        )
        const final = await results(picloud.url, accepted)
        const took = Date.now() - started
        const overloadedDuring = overloaded
        hammering = false
        await hammer
        assertAllSucceeded(accepted, final)
        assert.deepStrictEqual(
          [...final.values()].filter((r) => r.attempts !== 1),
          [],
          "each ran once, on its first attempt"
        )
        assert.isAbove(overloadedDuring, 0, "the gate was full")
        console.log(
          `gate of 2 held full by 4 sync callers (${overloadedDuring} sync 503s): 100 async executions all succeeded in ${took} ms`
        )

        // A waiter that hangs up while parked.
        const never = await request(picloud.url, "POST", "/api/admin/scripts", {
          name: "never",
          source: `export default () => { throw new Error("no") }`
        })
        assert.strictEqual(never.status, 201, never.text)
        await request(picloud.url, "POST", "/api/admin/routes", {
          method: "POST",
          path: "/never",
          script: "never",
          dispatch_mode: "async",
          retry: { initial_delay_ms: 3_600_000 }
        })
        const { execution_id } = (await request(picloud.url, "POST", "/default/never")).json
        const hungUp = await fetch(`${picloud.url}/api/executions/${execution_id}?wait=30`, {
          signal: AbortSignal.timeout(500)
        }).catch((e) => e)
        assert.instanceOf(hungUp, Error)
        let abandoned = 0
        for (let i = 0; i < 50 && abandoned === 0; i++) {
          await new Promise((r) => setTimeout(r, 100))
          abandoned =
            (await query(db.url, "SELECT 1 FROM abandoned_executions WHERE execution_id = $1", [execution_id]))
              .rowCount ?? 0
        }
        assert.strictEqual(abandoned, 1, "recorded in abandoned_executions")
      }),
    120_000
  )

  it(
    "idle, the only query is the dispatcher's fallback poll, once per 5 s",
    () =>
      onOwnDatabase({ settings: { shared_preload_libraries: "pg_stat_statements" } }, async (_picloud, db) => {
        await query(db.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await new Promise((r) => setTimeout(r, 1000))
        await query(db.url, "SELECT pg_stat_statements_reset()")
        const idleSeconds = 16
        await new Promise((r) => setTimeout(r, idleSeconds * 1000))
        const { rows } = await query(
          db.url,
          "SELECT calls, query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"
        )
        const statements = rows.map((r) => ({
          calls: Number(r.calls),
          query: String(r.query).replace(/\s+/g, " ").slice(0, 80)
        }))
        console.log(`idle ${idleSeconds} s: ${JSON.stringify(statements)}`)
        assert.strictEqual(statements.length, 1, JSON.stringify(statements))
        assert.match(statements[0]!.query, /^WITH due AS/)
        assert.isAtMost(statements[0]!.calls, idleSeconds / 5 + 1)
        assert.isAtLeast(statements[0]!.calls, 2, "the fallback poll runs")
      }),
    120_000
  )
})
