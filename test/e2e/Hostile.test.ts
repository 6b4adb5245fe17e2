import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { jsonOrUndefined } from "../support/client.ts"
import { freePort, startPicloud } from "./picloudProcess.ts"

/**
 * Hostile scripts against the real process (worker pool, real HTTP): every limit ends the execution
 * with its documented status, and the platform, and the next execution, carry on unharmed.
 */
const TOKEN = "hostile-token"
const GATE = 4
/** Set explicitly, so a test can make sure a script is warm on every worker. */
const WORKERS = 2
/** Documented in the README: the process stays under this while memory bombs go off. */
const RSS_BOUND_MB = 600

let picloud: Awaited<ReturnType<typeof startPicloud>>
let dataDir: string

const rssMb = () => {
  const status = readFileSync(`/proc/${picloud.child.pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

const admin = (path: string, body: unknown) =>
  fetch(`${picloud.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })

const deploy = async (name: string, source: string, timeout_seconds = 2, app?: string) => {
  const res = await admin("/api/admin/scripts", { name, source, timeout_seconds, app })
  assert.strictEqual(res.status, 201, await res.text())
}

const call = async (name: string, init?: RequestInit) => {
  const started = Date.now()
  const res = await fetch(`${picloud.url}/api/execute/${name}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}` }
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: jsonOrUndefined(text), ms: Date.now() - started }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "picloud-hostile-"))
  picloud = await startPicloud({
    dataDir,
    port: await freePort(),
    env: {
      PICLOUD_ADMIN_TOKEN: TOKEN,
      PICLOUD_MAX_CONCURRENT_EXECUTIONS: String(GATE),
      PICLOUD_EXECUTOR_THREADS: String(WORKERS),
      LOG_LEVEL: "Warn"
    }
  })
  await deploy("ok", `export default () => "still fine"`)
}, 60_000)

afterAll(async () => {
  picloud?.child.kill("SIGTERM")
  await picloud?.exited
  rmSync(dataDir, { recursive: true, force: true })
})

const stillFine = async () => {
  const res = await call("ok")
  assert.strictEqual(res.status, 200)
  assert.strictEqual(res.text, "still fine")
}

describe("hostile scripts", () => {
  it("an infinite loop is a 504 within its timeout plus a second of slack (CI machines are loaded)", async () => {
    await deploy("spin", `export default () => { for (;;) {} }`, 1)
    const res = await call("spin")
    assert.strictEqual(res.status, 504)
    assert.strictEqual(res.json.error.code, "timeout")
    assert.isBelow(res.ms, 1000 + 1000)
    await stillFine()
  })

  it("a promise that never settles is a 504; a microtask storm ends at a limit", async () => {
    await deploy("hang", `export default () => new Promise(() => {})`, 1)
    await deploy(
      "storm",
      `export default () => { const spin = () => Promise.resolve().then(spin); spin(); return new Promise(() => {}) }`,
      1
    )
    const hang = await call("hang")
    assert.strictEqual(hang.status, 504, hang.text)
    assert.isBelow(hang.ms, 1000 + 1000)
    // Each microtask of the storm keeps the one before alive: it ends at the timeout or, when the
    // chain outgrows the sandbox first, at the memory cap. Either way, quickly and cleanly.
    const storm = await call("storm")
    assert.oneOf(storm.status, [504, 507], storm.text)
    assert.isBelow(storm.ms, 1000 + 1000)
    await stillFine()
  })

  it("memory bombs are 507s; RSS stays under the bound and falls back after", async () => {
    const bombs = {
      array: `export default () => { const a = []; for (;;) a.push([1, 2, 3, 4]) }`,
      typed: `export default () => { const a = []; for (;;) a.push(new Float64Array(1 << 20)) }`,
      string: `export default () => { let s = "x"; for (;;) s += s }`,
      objects: `export default () => { const a = []; for (let i = 0;; i++) a.push({ i, s: "v" + i }) }`,
      map: `export default () => { const m = new Map(); for (let i = 0;; i++) m.set(i, [i]) }`
    }
    const before = rssMb()
    let peak = before
    for (const [name, source] of Object.entries(bombs)) {
      await deploy(`bomb-${name}`, source, 10)
      const pending = call(`bomb-${name}`)
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20)
      const res = await pending
      clearInterval(sampler)
      assert.strictEqual(res.status, 507, `${name}: ${res.text}`)
      assert.strictEqual(res.json.error.code, "memory_limit", name)
      await stillFine()
    }
    console.info(`memory bombs: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`)
    assert.isBelow(peak, RSS_BOUND_MB, `peak RSS ${peak} MB (before ${before} MB)`)
    await new Promise((r) => setTimeout(r, 500))
    assert.isBelow(rssMb(), RSS_BOUND_MB)
  }, 120_000)

  it("a script holding most of its memory warm on every worker does not make another app's script fail", async () => {
    for (const app of ["mem-a", "mem-b"]) {
      assert.strictEqual((await admin("/api/admin/apps", { name: app })).status, 201)
    }
    // Each warm sandbox of it keeps ~55 MB in module scope and says which sandbox it is.
    await deploy(
      "holder",
      `const sandbox = Math.random()
const held = []
for (let i = 0; i < 55; i++) held.push(new Uint8Array(1 << 20).fill(i + 1))
export default () => { const end = Date.now() + 100; while (Date.now() < end) {} return { sandbox, held: held.length } }`,
      10,
      "mem-a"
    )
    await deploy("modest", `export default () => new Uint8Array(16 << 20).fill(7).length`, 10, "mem-b")
    // Calls in flight together go to different workers: repeat until the holder is warm on each.
    const sandboxes = new Set<number>()
    for (let round = 0; round < 20 && sandboxes.size < WORKERS; round++) {
      for (const res of await Promise.all(Array.from({ length: WORKERS }, () => call("mem-a/holder")))) {
        assert.strictEqual(res.status, 200, res.text)
        assert.strictEqual(res.json.held, 55)
        sandboxes.add(res.json.sandbox)
      }
    }
    assert.strictEqual(sandboxes.size, WORKERS, "the holder is warm on every worker")
    const replies = [
      ...await Promise.all(Array.from({ length: WORKERS * 2 }, () => call("mem-b/modest"))),
      await call("mem-b/modest")
    ]
    for (const res of replies) {
      assert.strictEqual(res.status, 200, res.text)
      assert.strictEqual(res.text, String(16 << 20))
    }
    await stillFine()
  }, 60_000)

  it("deep recursion is a 507 without a host stack overflow", async () => {
    await deploy("deep", `export default function f(n = 0) { return f(n + 1) + 1 }`)
    const res = await call("deep")
    assert.strictEqual(res.status, 507)
    assert.strictEqual(res.json.error.code, "stack_limit")
    await stillFine()
  })

  it("huge console output is capped and marked truncated; a huge response is a clear 502", async () => {
    await deploy(
      "chatty",
      `export default () => { for (let i = 0; i < 100000; i++) console.log("line " + i + " " + "x".repeat(100)); return "done" }`,
      10
    )
    const chatty = await call("chatty")
    assert.strictEqual(chatty.status, 200)
    const record =
      await (await fetch(`${picloud.url}/api/admin/executions/${chatty.headers.get("x-picloud-execution-id")}`, {
        headers: { authorization: `Bearer ${TOKEN}` }
      })).json() as { logs_truncated: boolean; logs: Array<{ message: string }> }
    assert.isTrue(record.logs_truncated)
    assert.isBelow(record.logs.reduce((n, l) => n + l.message.length, 0), 64 * 1024 + 200)

    await deploy("fat", `export default () => "x".repeat(8 * 1024 * 1024)`)
    const fat = await call("fat")
    assert.strictEqual(fat.status, 502)
    assert.strictEqual(fat.json.error.code, "response_too_large")
  }, 60_000)

  it("headers count in the response limit; too many or unsendable ones are a clear 502", async () => {
    await deploy(
      "fat-header",
      `export default () => ({ statusCode: 200, headers: { "x-fat": "x".repeat(2 * 1024 * 1024) }, body: "small" })`
    )
    await deploy(
      "many-headers",
      `export default () => ({ statusCode: 200, headers: Object.fromEntries(Array.from({ length: 100000 }, (_, i) => ["x-h" + i, "v"])) })`,
      10
    )
    for (const name of ["fat-header", "many-headers"]) {
      const res = await call(name)
      assert.strictEqual(res.status, 502, `${name}: ${res.text.slice(0, 200)}`)
      assert.strictEqual(res.json.error.code, "response_too_large", name)
    }
    await deploy(
      "euro-header",
      `export default () => ({ statusCode: 200, headers: { "x-price": "5 \u20ac" }, body: "ok" })`
    )
    await deploy(
      "control-header",
      `export default () => ({ statusCode: 200, headers: { "x-a": "bell\u0007" }, body: "ok" })`
    )
    for (const name of ["euro-header", "control-header"]) {
      const res = await call(name)
      assert.strictEqual(res.status, 502, `${name}: ${res.text.slice(0, 200)}`)
      assert.strictEqual(res.json.error.code, "invalid_response", name)
    }
    await stillFine()
  }, 60_000)

  it("import, eval, Function and prototype tampering cannot reach the host or the next execution", async () => {
    await deploy("imports", `import fs from "fs"\nexport default () => typeof fs`).catch(() => undefined)
    const imported = await call("imports")
    assert.oneOf(imported.status, [404, 422, 502])

    await deploy(
      "probe",
      `export default () => ({
      process: typeof process, require: typeof require, fetch: typeof fetch, setTimeout: typeof setTimeout,
      viaEval: eval("typeof process"), viaFunction: Function("return typeof globalThis.process")(),
      viaConstructor: (() => {}).constructor("return typeof require")(),
      leaked: Object.prototype.leaked ?? null, global: globalThis.leakedGlobal ?? null
    })`
    )
    await deploy(
      "tamper",
      `export default () => { Object.prototype.leaked = "yes"; globalThis.leakedGlobal = "yes"; Array.prototype.push = null; JSON.stringify = () => "hacked"; return "tampered" }`
    )
    assert.strictEqual((await call("tamper")).text, "tampered")
    const probe = await call("probe")
    assert.strictEqual(probe.status, 200, probe.text)
    assert.deepStrictEqual(probe.json, {
      process: "undefined",
      require: "undefined",
      fetch: "undefined",
      setTimeout: "undefined",
      viaEval: "undefined",
      viaFunction: "undefined",
      viaConstructor: "undefined",
      leaked: null,
      global: null
    })
  })
})

describe("overload", () => {
  it(
    "at 10x the gate's cap every answer is the script's or a 503 with Retry-After, and the server recovers at once",
    async () => {
      await deploy(
        "slow",
        `export default () => { const end = Date.now() + 300; while (Date.now() < end) {} return "slow done" }`,
        10
      )
      const replies = await Promise.all(Array.from({ length: GATE * 10 }, () => call("slow")))
      const byStatus = new Map<number, number>()
      for (const r of replies) {
        byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1)
        if (r.status === 200) assert.strictEqual(r.text, "slow done")
        else {
          assert.strictEqual(r.status, 503, r.text)
          assert.strictEqual(r.headers.get("retry-after"), "1")
          assert.strictEqual(r.json.error.code, "overloaded")
        }
      }
      assert.isAtLeast(byStatus.get(200) ?? 0, 1)
      assert.isAtLeast(byStatus.get(503) ?? 0, 1, JSON.stringify([...byStatus]))
      await stillFine()
    },
    60_000
  )
})
