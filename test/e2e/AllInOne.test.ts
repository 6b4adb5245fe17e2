import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "vitest"
import { exitWithin, freePort, spawnLogged, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-admin-token"
const MAIN = fileURLToPath(new URL("../../src/runtime/main.ts", import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), "picloud-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const api = (base: string) => async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    signal: AbortSignal.timeout(20_000),
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    body: body === undefined ? null : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined }
}

/** Sends raw bytes and resolves with everything the server wrote back before it closed. */
const rawExchange = (port: number, bytes: string) =>
  new Promise<string>((resolve, reject) => {
    let received = ""
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes))
    socket.on("data", (chunk) => (received += chunk))
    socket.on("end", () => resolve(received))
    socket.on("error", reject)
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer")))
  })

describe("all-in-one process (embedded PostgreSQL, real HTTP)", () => {
  it("serves the lifecycle, drains on SIGTERM, and keeps its data across a restart", async () => {
    const port = await freePort()
    const first = await startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
    try {
      const call = api(first.url)
      const created = await call("POST", "/api/admin/scripts", {
        name: "hello",
        source:
          `export default function (request) { console.log("hi"); return { hello: request.query.name ?? "world" } }`
      })
      assert.strictEqual(created.status, 201, created.text)
      const run = await call("GET", "/api/execute/hello?name=e2e")
      assert.deepStrictEqual(run.json, { hello: "e2e" })
      const executionId = run.headers.get("x-picloud-execution-id")

      // A slow execution in flight when SIGTERM arrives still gets its answer.
      await call("POST", "/api/admin/scripts", {
        name: "slow",
        source:
          `export default function () { const end = Date.now() + 1500; while (Date.now() < end) {} return "done" }`
      })
      const inFlight = fetch(`${first.url}/api/execute/slow`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: AbortSignal.timeout(20_000)
      }).then(async (r) => ({ status: r.status, text: await r.text() }))
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

  it(
    "executions cut off when PICLOUD_SHUTDOWN_TIMEOUT runs out answer a JSON 503, and each keeps its record",
    async () => {
      const cutDir = mkdtempSync(join(tmpdir(), "picloud-e2e-cut-"))
      const port = await freePort()
      const env = { PICLOUD_ADMIN_TOKEN: TOKEN, PICLOUD_SHUTDOWN_TIMEOUT: "500 millis" }
      const first = await startPicloud({ dataDir: cutDir, port, env })
      try {
        const call = api(first.url)
        const created = await call("POST", "/api/admin/scripts", {
          name: "stuck",
          timeout_seconds: 20,
          source:
            `export default function () { const end = Date.now() + 5000; while (Date.now() < end) {} return "done" }`
        })
        assert.strictEqual(created.status, 201, created.text)

        // What Node answers before any handler (headers too large, not HTTP) is JSON too.
        const huge = await fetch(`${first.url}/api/execute/stuck?${"q".repeat(20_000)}`)
        assert.strictEqual(huge.status, 431)
        assert.strictEqual(((await huge.json()) as { error: { code: string } }).error.code, "headers_too_large")
        const garbage = await rawExchange(port, "NOT HTTP\r\n\r\n")
        assert.match(garbage, /^HTTP\/1\.1 400 /)
        assert.strictEqual(JSON.parse(garbage.slice(garbage.indexOf("\r\n\r\n") + 4)).error.code, "bad_request")

        const inFlight = [1, 2].map(() =>
          fetch(`${first.url}/api/execute/stuck`, {
            headers: { authorization: `Bearer ${TOKEN}` },
            signal: AbortSignal.timeout(20_000)
          })
            .then(async (r) => ({ status: r.status, type: r.headers.get("content-type"), text: await r.text() }))
        )
        await new Promise((r) => setTimeout(r, 500))
        first.child.kill("SIGTERM")
        for (const reply of await Promise.all(inFlight)) {
          assert.strictEqual(reply.status, 503, reply.text)
          assert.strictEqual(reply.type, "application/json")
          assert.strictEqual(JSON.parse(reply.text).error.code, "shutting_down")
        }
        assert.strictEqual(await exitWithin(first), 0, first.output())

        const second = await startPicloud({ dataDir: cutDir, port, env })
        try {
          const records = await api(second.url)("GET", "/api/admin/executions")
          assert.deepStrictEqual(
            records.json.items.map((r: { status: string; error: { code: string } }) => [r.status, r.error.code]),
            [["failed", "interrupted"], ["failed", "interrupted"]]
          )
        } finally {
          second.child.kill("SIGTERM")
          assert.strictEqual(await exitWithin(second), 0, second.output())
        }
      } finally {
        if (first.child.exitCode === null) first.child.kill("SIGKILL")
        rmSync(cutDir, { recursive: true, force: true })
      }
    },
    120_000
  )

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
        const second = spawnLogged(process.execPath, [MAIN], {
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

  it("takes LOG_LEVEL and LOG_FORMAT in any case, and refuses an unknown level with the allowed ones", async () => {
    const port = await freePort()
    const env = { PICLOUD_ADMIN_TOKEN: TOKEN, LOG_LEVEL: "warn", LOG_FORMAT: "JSON" }
    const quiet = await startPicloud({ dataDir, port, env })
    try {
      // At Warn, the start's Info lines (the executor's worker threads) are left out.
      assert.notMatch(quiet.output(), /worker thread/)
    } finally {
      quiet.child.kill("SIGTERM")
      assert.strictEqual(await exitWithin(quiet), 0, quiet.output())
    }
    const refused = spawnLogged(process.execPath, [MAIN], {
      PICLOUD_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      PICLOUD_ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: "loud"
    })
    assert.strictEqual(await exitWithin(refused), 1, refused.output())
    assert.include(
      refused.output(),
      `expected one of All, Fatal, Error, Warn, Info, Debug, Trace, None (in any case), got "loud"`
    )
    assert.include(refused.output(), "LOG_LEVEL")
  }, 120_000)
})
