import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "vitest"
import { exitWithin, freePort, spawnLogged, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-admin-token"
const dataDir = mkdtempSync(join(tmpdir(), "picloud-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const api = (base: string) => async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    signal: AbortSignal.timeout(20_000),
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? null : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined }
}

describe("all-in-one process (embedded PostgreSQL, real HTTP)", () => {
  it("serves the lifecycle, drains on SIGTERM, and keeps its data across a restart", async () => {
    const port = await freePort()
    const first = await startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
    try {
      const call = api(first.url)
      const created = await call("POST", "/api/admin/scripts", {
        name: "hello",
        source: `export default function (request) { console.log("hi"); return { hello: request.query.name ?? "world" } }`
      })
      assert.strictEqual(created.status, 201, created.text)
      const run = await call("GET", "/api/execute/hello?name=e2e")
      assert.deepStrictEqual(run.json, { hello: "e2e" })
      const executionId = run.headers.get("x-picloud-execution-id")

      // A slow execution in flight when SIGTERM arrives still gets its answer.
      await call("POST", "/api/admin/scripts", {
        name: "slow",
        source: `export default function () { const end = Date.now() + 1500; while (Date.now() < end) {} return "done" }`
      })
      const inFlight = fetch(`${first.url}/api/execute/slow`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(20_000) }).then(async (r) => ({ status: r.status, text: await r.text() }))
      await new Promise((r) => setTimeout(r, 300))
      first.child.kill("SIGTERM")
      const slow = await inFlight
      assert.deepStrictEqual(slow, { status: 200, text: "done" })
      assert.strictEqual(await exitWithin(first), 0, first.output())
      assert.isFalse(existsSync(join(dataDir, "postgres", "postmaster.pid")), "postgres stopped cleanly")

      const second = await startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
      try {
        const again = api(second.url)
        const list = await again("GET", "/api/admin/scripts")
        assert.deepStrictEqual(list.json.items.map((s: { name: string }) => s.name).sort(), ["hello", "slow"])
        const record = await again("GET", `/api/admin/executions/${executionId}`)
        assert.strictEqual(record.status, 200)
        assert.deepStrictEqual(record.json.logs.map((l: { message: string }) => l.message), ["hi"])
        const rerun = await again("GET", "/api/execute/hello")
        assert.deepStrictEqual(rerun.json, { hello: "world" })
        // The second start applied no migration: nothing about migrating in its log.
        assert.match(first.output(), /applied migrations: 1_scripts_and_executions/)
        assert.notMatch(second.output(), /applied migrations/)
      } finally {
        second.child.kill("SIGTERM")
        assert.strictEqual(await exitWithin(second), 0, second.output())
      }
    } finally {
      if (first.child.exitCode === null) first.child.kill("SIGKILL")
    }
  }, 120_000)

  it("starts again after a kill -9 left a stale PostgreSQL lock", async () => {
    const port = await freePort()
    const crashed = await startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
    crashed.child.kill("SIGKILL")
    await exitWithin(crashed)
    // The embedded postmaster outlives its parent's SIGKILL, orphaned and holding the cluster's
    // lock: the next start must stop it and carry on.
    const next = await startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
    try {
      assert.match(next.output(), /stopping an orphaned PostgreSQL/)
      const list = await api(next.url)("GET", "/api/admin/scripts")
      assert.strictEqual(list.status, 200)
    } finally {
      next.child.kill("SIGTERM")
      assert.strictEqual(await exitWithin(next), 0, next.output())
    }
  }, 120_000)

  it("on a first start without PICLOUD_ADMIN_TOKEN it prints an admin token once, and only then", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "picloud-bootstrap-"))
    try {
      const port = await freePort()
      const first = await startPicloud({ dataDir: fresh, port, env: { PICLOUD_ADMIN_TOKEN: "" } })
      const token = /first start: created user 'admin' with the API token (pc_[\w-]+)/.exec(first.output())?.[1]
      assert.isString(token, first.output())
      const whoami = await fetch(`${first.url}/api/admin/tokens`, { headers: { authorization: `Bearer ${token}` } })
      assert.strictEqual(whoami.status, 200)
      first.child.kill("SIGTERM")
      assert.strictEqual(await exitWithin(first), 0)
      const second = await startPicloud({ dataDir: fresh, port, env: { PICLOUD_ADMIN_TOKEN: "" } })
      try {
        assert.notMatch(second.output(), /first start/)
        const again = await fetch(`${second.url}/api/admin/apps`, { headers: { authorization: `Bearer ${token}` } })
        assert.strictEqual(again.status, 200)
      } finally {
        second.child.kill("SIGTERM")
        await exitWithin(second)
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  }, 120_000)

  it("a second PiCloud on the same data directory refuses to start, and leaves the first alone", async () => {
    const shared = mkdtempSync(join(tmpdir(), "picloud-shared-"))
    try {
      const first = await startPicloud({ dataDir: shared, port: await freePort(), env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
      try {
        const second = spawnLogged(process.execPath, [fileURLToPath(new URL("../../src/runtime/main.ts", import.meta.url))], {
          PICLOUD_DATA_DIR: shared,
          PORT: String(await freePort()),
          HOST: "127.0.0.1",
          PICLOUD_ADMIN_TOKEN: TOKEN
        })
        assert.notStrictEqual(await exitWithin(second), 0)
        assert.match(second.output(), /in use by another running PiCloud/)
        const health = await fetch(`${first.url}/health`)
        assert.strictEqual(health.status, 200, "the first one's database was not touched")
      } finally {
        first.child.kill("SIGTERM")
        assert.strictEqual(await exitWithin(first), 0, first.output())
      }
    } finally {
      rmSync(shared, { recursive: true, force: true })
    }
  }, 120_000)
})
