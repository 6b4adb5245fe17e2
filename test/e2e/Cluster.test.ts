import { execFileSync } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { sseReader } from "../support/sse.ts"
import { type StandalonePostgres, startStandalonePostgres } from "../support/standalonePostgres.ts"
import { freePort, jsonClient, type RunningProcess, spawnLogged, waitFor } from "./picloudProcess.ts"

/**
 * The cluster on one machine: a standalone PostgreSQL, two managers (the second only to show that
 * a tick fires once with two schedulers), two nodes (an orchestrator and its executor each), and
 * Caddy in front with caddy/Caddyfile.cluster. Figures are printed (`[cluster]` lines). The load is
 * paced, so that what fails is the kill and not a machine short of CPU (a node's gate answers 503
 * when its executor threads are all busy).
 */
const MAIN = fileURLToPath(new URL("../../src/runtime/main.ts", import.meta.url))
const CADDYFILE = fileURLToPath(new URL("../../caddy/Caddyfile.cluster", import.meta.url))
const TOKEN = "e2e-cluster-token"
const PASSWORD = "correct horse battery"

const hasCaddy = (() => {
  try {
    execFileSync("caddy", ["version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()
if (!hasCaddy && process.env.CI) throw new Error("caddy is not installed: apt-get install caddy")

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const processes: Array<RunningProcess> = []
let dir = ""
let pg: StandalonePostgres | undefined

interface Started extends RunningProcess {
  readonly url: string
  readonly port: number
}

/** One process of the cluster, started and healthy. */
const start = async (role: string, env: Record<string, string> = {}): Promise<Started> => {
  const port = await freePort()
  const proc = spawnLogged(process.execPath, [MAIN, role], {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: pg!.url,
    PICLOUD_ADMIN_TOKEN: TOKEN,
    PICLOUD_EXECUTOR_THREADS: "2",
    LOG_LEVEL: "Warn",
    ...env
  })
  processes.push(proc)
  await waitFor(`http://127.0.0.1:${port}/health`, 60_000, proc)
  return { ...proc, port, url: `http://127.0.0.1:${port}` }
}

/** A node: an executor and the orchestrator that uses it. */
const startNode = async (name: string) => {
  const executor = await start("executor", { DATABASE_URL: "" })
  const orchestrator = await start("orchestrator", { PICLOUD_NODE_ID: name, PICLOUD_EXECUTOR_URL: executor.url })
  return { name, executor, orchestrator }
}

let caddyUrl = ""
let nodes: Array<Awaited<ReturnType<typeof startNode>>> = []
let manager: Started

beforeAll(async () => {
  if (!hasCaddy) return
  dir = mkdtempSync(join(tmpdir(), "picloud-cluster-"))
  chmodSync(dir, 0o755)
  pg = await startStandalonePostgres(dir)
  manager = await start("manager", { PICLOUD_NODE_ID: "manager-1" })
  await start("manager", { PICLOUD_NODE_ID: "manager-2" })
  nodes = [await startNode("node-a"), await startNode("node-b")]
  const caddyPort = await freePort()
  caddyUrl = `http://127.0.0.1:${caddyPort}`
  const caddy = spawnLogged("caddy", ["run", "--config", CADDYFILE, "--adapter", "caddyfile"], {
    PICLOUD_LISTEN: caddyUrl,
    PICLOUD_MANAGER: `127.0.0.1:${manager.port}`,
    PICLOUD_NODES: nodes.map((node) => `127.0.0.1:${node.orchestrator.port}`).join(" "),
    HOME: dir,
    XDG_DATA_HOME: dir,
    XDG_CONFIG_HOME: dir
  })
  processes.push(caddy)
  await waitFor(`${caddyUrl}/health`, 20_000, caddy)
}, 180_000)

afterAll(async () => {
  for (const proc of processes) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGTERM")
  }
  await Promise.all(processes.map((proc) => Promise.race([proc.exited, sleep(20_000)])))
  for (const proc of processes) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL")
  }
  await pg?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
}, 60_000)

const via = (base: () => string, token = TOKEN) => jsonClient(base, token)
const caddy = via(() => caddyUrl)
type Call = typeof caddy

const expectStatus = async (pending: ReturnType<Call>, status: number) => {
  const res = await pending
  assert.strictEqual(res.status, status, res.text)
  return res.json
}
const deploy = (name: string, source: string, extra: Record<string, unknown> = {}) =>
  expectStatus(caddy("POST", "/api/admin/scripts", { name, source, ...extra }), 201)

/** Polls until `check` answers something other than `undefined`; fails after `ms` naming `what`. */
const eventually = async <A>(what: string, check: () => Promise<A | undefined>, ms = 20_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Every key under `prefix`, page by page. */
const keys = async (prefix: string) => {
  const all: Array<{ key: string; value: any }> = []
  let cursor: string | null = null
  do {
    const query: string = `prefix=${encodeURIComponent(prefix)}&limit=100${cursor ? `&cursor=${cursor}` : ""}`
    const page = await expectStatus(caddy("GET", `/api/admin/apps/default/kv?${query}`), 200)
    all.push(...page.items)
    cursor = page.cursor
  } while (cursor !== null)
  return all
}

/** Both nodes answer as `expected` (each asked directly, not through Caddy); how long it took, in ms. */
const untilBothNodes = async (what: string, ask: (base: string) => Promise<boolean>) => {
  const startedAt = Date.now()
  await Promise.all(
    nodes.map((node) =>
      eventually(`${what} on ${node.name}`, async () => ((await ask(node.orchestrator.url)) ? true : undefined), 5_000)
    )
  )
  return Date.now() - startedAt
}

describe.skipIf(!hasCaddy)("e2e: the cluster (two managers, two nodes, Caddy, one PostgreSQL)", () => {
  it("a script update and a token revocation on the manager take effect on both nodes within 1 s", async () => {
    const script = await deploy("version", `export default () => "v1"`)
    for (const node of nodes) {
      const res = await via(() => node.orchestrator.url)("POST", "/api/execute/version")
      assert.strictEqual(res.text, "v1", node.name)
    }
    await expectStatus(caddy("PUT", `/api/admin/scripts/${script.id}`, { source: `export default () => "v2"` }), 200)
    const updateMs = await untilBothNodes(
      "v2",
      async (base) => (await via(() => base)("POST", "/api/execute/version")).text === "v2"
    )

    await expectStatus(
      caddy("POST", "/api/admin/users", { username: "ops", password: PASSWORD, role: "admin", apps: [] }),
      201
    )
    const login = await expectStatus(caddy("POST", "/api/admin/login", { username: "ops", password: PASSWORD }), 201)
    const created = await expectStatus(caddy("POST", "/api/admin/tokens", { name: "ci" }, login.secret), 201)
    for (const node of nodes) {
      const res = await via(() => node.orchestrator.url, created.secret)("POST", "/api/execute/version")
      assert.strictEqual(res.status, 200, `${node.name}: ${res.text}`)
    }
    await expectStatus(caddy("DELETE", `/api/admin/tokens/${created.token.id}`), 204)
    const revokeMs = await untilBothNodes(
      "revocation",
      async (base) => (await via(() => base, created.secret)("POST", "/api/execute/version")).status === 401
    )
    console.log(
      `[cluster] script update seen by both nodes after ${updateMs} ms; token revocation after ${revokeMs} ms`
    )
    assert.isBelow(updateMs, 1000)
    assert.isBelow(revokeMs, 1000)
  }, 30_000)

  it(
    "the manager's live tail, opened through Caddy, shows executions run on both nodes within 1 s, in each node's order",
    async () => {
      const script = await deploy(
        "tailed",
        `export default (req) => { console.log("ran " + req.query.i); return "ok" }`
      )
      const res = await fetch(`${caddyUrl}/api/admin/executions/stream?script=${script.id}`, {
        headers: { authorization: `Bearer ${TOKEN}` }
      })
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.headers.get("content-type"), "text/event-stream")
      const reader = sseReader(res)
      try {
        // Another script's executions are filtered out on the manager, as in one process.
        await deploy("untailed", `export default () => "no"`)
        // Read as the records arrive, while the runs go on: when each came, by execution id.
        const events: Array<{ id: string; at: number; record: any }> = []
        const collecting = (async () => {
          while (events.length < 20) {
            const event = await reader.next(10_000)
            assert.strictEqual(event?.event, "execution", JSON.stringify(event))
            events.push({ id: event!.id!, at: Date.now(), record: JSON.parse(event!.data) })
          }
        })()
        const sent = new Map<string, { node: string; at: number }>()
        for (let i = 0; i < 20; i++) {
          const node = nodes[i % 2]!
          const other = await via(() => node.orchestrator.url)("POST", "/api/execute/untailed")
          assert.strictEqual(other.status, 200, other.text)
          const ran = await via(() => node.orchestrator.url)("POST", `/api/execute/tailed?i=${i}`)
          assert.strictEqual(ran.status, 200, ran.text)
          sent.set(ran.headers.get("x-picloud-execution-id")!, { node: node.name, at: Date.now() })
        }
        await collecting
        const arrived = events.map(({ id, at, record }) => {
          const origin = sent.get(id)
          assert.isDefined(origin, `an execution of another script or run: ${JSON.stringify(record).slice(0, 300)}`)
          return {
            id,
            node: origin!.node,
            ms: Math.max(0, at - origin!.at),
            logs: record.logs.map((entry: { message: string }) => entry.message).join()
          }
        })
        const slowest = Math.max(...arrived.map((entry) => entry.ms))
        console.log(
          `[cluster] live tail on the manager: 20 records from both nodes, the slowest ${slowest} ms after its reply`
        )
        for (const node of nodes) {
          const sentBy = [...sent].filter(([, origin]) => origin.node === node.name).map(([id]) => id)
          assert.strictEqual(sentBy.length, 10)
          assert.deepStrictEqual(arrived.filter((entry) => entry.node === node.name).map((entry) => entry.id), sentBy)
        }
        assert.match(arrived[0]!.logs, /^ran 0$/, "the whole record, logs included")
        assert.isBelow(slowest, 1_000)

        // A test run through Caddy runs on the manager; it answers with the logs, its record is kept,
        // and the manager's tail shows it too.
        const testRun = await expectStatus(
          caddy("POST", `/api/admin/scripts/${script.id}/test-run`, { method: "GET", query: { i: "test" } }),
          200
        )
        assert.strictEqual(testRun.status, 200, JSON.stringify(testRun))
        assert.strictEqual(testRun.body, "ok")
        assert.deepStrictEqual(testRun.logs.map((entry: { message: string }) => entry.message), ["ran test"])
        const kept = await expectStatus(caddy("GET", `/api/admin/executions/${testRun.execution_id}`), 200)
        assert.strictEqual(kept.id, testRun.execution_id)
        assert.strictEqual(kept.script_id, script.id)
        assert.deepStrictEqual(kept.logs.map((entry: { message: string }) => entry.message), ["ran test"])
        const event = await reader.next(5_000)
        assert.strictEqual(event?.id, testRun.execution_id)
      } finally {
        await reader.close()
      }
    },
    60_000
  )

  it(
    "mixed load through Caddy survives kill -9 of one node: accepted work completes, the other node answers, no tick fires twice",
    async () => {
      await deploy("hello", `export default () => "hello"`)
      // Long enough to be in flight on the node when it dies: its callers get an error.
      await deploy(
        "slow",
        `export default () => { const end = Date.now() + 100; while (Date.now() < end) {} return "slow" }`
      )
      // Short timeouts: a run held by the dead node is taken over once its lease (timeout + 30 s) ends.
      await deploy(
        "work",
        `export default async (req, ctx) => { await kv.set("work/" + req.params.n, ctx.executionId); return { n: req.params.n } }`,
        { timeout_seconds: 2 }
      )
      await expectStatus(
        caddy("POST", "/api/admin/routes", {
          method: "POST",
          path: "/work/:n",
          script: "work",
          dispatch_mode: "async"
        }),
        201
      )
      await deploy(
        "crunch",
        `export default () => { const end = Date.now() + 600; while (Date.now() < end) {} return "crunched" }`,
        { timeout_seconds: 1 }
      )
      await expectStatus(
        caddy("POST", "/api/admin/routes", {
          method: "POST",
          path: "/crunch/:n",
          script: "crunch",
          dispatch_mode: "async"
        }),
        201
      )
      await deploy(
        "order",
        `export default async (req) => { await kv.set("orders/" + req.query.n, { n: req.query.n }); return "ok" }`
      )
      await deploy(
        "audit",
        `export default async (req, ctx) => { await kv.set("seen/" + ctx.event.key, ctx.event.version) }`,
        { timeout_seconds: 2 }
      )
      await expectStatus(caddy("POST", "/api/admin/triggers", { script: "audit", key_pattern: "orders/*" }), 201)
      await deploy(
        "tick",
        `export default async (req, ctx) => { await kv.set("tick/" + ctx.event.scheduled_at + "/" + ctx.executionId, 1) }`,
        { timeout_seconds: 2 }
      )
      const schedule = await expectStatus(
        caddy("POST", "/api/admin/schedules", { name: "every-second", cron: "* * * * * *", script: "tick" }),
        201
      )

      type Outcome = { readonly at: number; readonly ok: boolean; readonly what: string; readonly detail: string }
      const outcomes: Array<Outcome> = []
      const accepted: Array<string> = []
      const ordered: Array<number> = []
      let running = true
      let n = 0
      /** Sends one request and notes when it ended, whether it got `expected`, and what it got. */
      const timed = async (
        what: string,
        send: () => Promise<{ readonly status: number; readonly text: string }>,
        expected: number
      ) => {
        try {
          const res = await send()
          outcomes.push({ at: Date.now(), ok: res.status === expected, what, detail: `${res.status} ${res.text}` })
        } catch (error) {
          outcomes.push({ at: Date.now(), ok: false, what, detail: String(error) })
        }
      }
      // Paced (about 40 requests a second in all), so that what fails is the kill, not an
      // overloaded machine: two executor threads per node here, on a shared CI box.
      const loop = async (pauseMs: number, body: () => Promise<void>) => {
        while (running) {
          await body()
          await sleep(pauseMs)
        }
      }
      const load = Promise.all([
        loop(50, () => timed("sync", () => caddy("POST", "/api/execute/hello"), 200)),
        loop(50, () => timed("sync", () => caddy("POST", "/api/execute/hello"), 200)),
        loop(100, () => timed("slow", () => caddy("POST", "/api/execute/slow"), 200)),
        loop(100, () =>
          timed("async", async () => {
            const res = await caddy("POST", `/default/work/${n++}`)
            if (res.status === 202) accepted.push(res.json.execution_id)
            return res
          }, 202)),
        loop(100, () =>
          timed("order", async () => {
            const i = n++
            const res = await caddy("POST", `/api/execute/order?n=${i}`)
            if (res.status === 200) ordered.push(i)
            return res
          }, 200))
      ])

      await sleep(2_500)
      // Runs that take a while, accepted just before the kill: the dead node's dispatcher likely
      // holds some when it dies, and they are taken over once their lease (timeout + 30 s) ends.
      const held: Array<string> = []
      for (let i = 0; i < 6; i++) {
        const res = await caddy("POST", `/default/crunch/${i}`)
        assert.strictEqual(res.status, 202, res.text)
        held.push(res.json.execution_id)
      }
      accepted.push(...held)
      await sleep(500)
      const [dead, alive] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
      const killedAt = Date.now()
      dead.orchestrator.child.kill("SIGKILL")
      dead.executor.child.kill("SIGKILL")
      await sleep(7_000)
      running = false
      await load

      const after = outcomes.filter((o) => o.at >= killedAt)
      const failed = after.filter((o) => !o.ok)
      const lastFailure = failed.at(-1)
      const skippedAfterMs = lastFailure === undefined ? 0 : lastFailure.at - killedAt
      const byKind = ["sync", "slow", "async", "order"].map((what) =>
        `${what} ${failed.filter((o) => o.what === what).length}`
      )
      console.log(
        `[cluster] load: ${outcomes.length} requests, ${after.length} after the kill; failed after it: ` +
          `${failed.length} (${byKind.join(", ")}); last failure ${skippedAfterMs} ms after the kill`
      )
      if (lastFailure !== undefined) {
        console.log(
          `[cluster] first failure: ${failed[0]!.detail.slice(0, 300)}; last: ${lastFailure.detail.slice(0, 300)}`
        )
      }
      if (after.some((o) => !o.ok && o.at > killedAt + 5_000)) {
        console.log(`[cluster] the surviving node's output:\n${alive.orchestrator.output().slice(-3000)}`)
        console.log(`[cluster] its executor's output:\n${alive.executor.output().slice(-2000)}`)
      }
      // The other node keeps answering: from 5 s after the kill on, nothing fails.
      assert.strictEqual(after.filter((o) => !o.ok && o.at > killedAt + 5_000).length, 0)
      assert.isAbove(after.filter((o) => o.ok).length, 10, "the surviving node answered")
      assert.isTrue((await fetch(`${alive.orchestrator.url}/health`)).ok)

      // Every accepted async execution completes (a run the dead node held, once its lease ends),
      // asked through Caddy with ?wait: any node may answer, woken by whichever ends it.
      const waitStarted = Date.now()
      for (const id of accepted) {
        const status = await eventually(`execution ${id}`, async () => {
          const res = await caddy("GET", `/api/executions/${id}?wait=20`)
          return res.json?.status === "succeeded" ? res.json.status : undefined
        }, 90_000)
        assert.strictEqual(status, "succeeded")
      }
      // Every committed order's triggered run completes.
      const seen = await eventually("every triggered run", async () => {
        const runs = new Set((await keys("seen/orders/")).map((item) => item.key))
        return ordered.every((i) => runs.has(`seen/orders/${i}`)) ? runs : undefined
      }, 90_000)
      console.log(
        `[cluster] ${accepted.length} async executions and ${ordered.length} triggered runs all completed, ` +
          `the last ${Date.now() - waitStarted} ms after the load ended (runs the dead node held wait for their lease)`
      )
      assert.isAtLeast(seen.size, ordered.length)

      // No tick fired twice: one execution per scheduled time, though two schedulers ran.
      await expectStatus(caddy("PATCH", `/api/admin/schedules/${schedule.id}`, { enabled: false }), 200)
      await sleep(1_500)
      const ticks = new Map<string, Set<string>>()
      for (const { key } of await keys("tick/")) {
        const [, scheduledAt, executionId] = key.split("/")
        ticks.set(scheduledAt!, (ticks.get(scheduledAt!) ?? new Set()).add(executionId!))
      }
      const twice = [...ticks].filter(([, ids]) => ids.size > 1)
      console.log(`[cluster] ${ticks.size} ticks ran, ${twice.length} of them more than once`)
      assert.isAbove(ticks.size, 5)
      assert.deepStrictEqual(twice, [])
    },
    240_000
  )
})
