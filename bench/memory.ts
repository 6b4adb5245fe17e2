/**
 * The memory scenario of issue 15: the all-in-one process (PiCloud and its embedded PostgreSQL)
 * through the hostile-script memory bombs, then a gate storm (24 slow calls at a cap of 4), then
 * 30 s of rest. Prints PiCloud's RSS and PostgreSQL's at every step, so what holds memory is named
 * (PostgreSQL's also as PSS: summed RSS counts its shared buffers once per process).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, startPicloud } from "../test/e2e/picloudProcess.ts"
import { pssMb, rssMb } from "./rss.ts"

const TOKEN = "bench-token"
const GATE = 4
const BOMBS = {
  array: `export default () => { const a = []; for (;;) a.push([1, 2, 3, 4]) }`,
  typed: `export default () => { const a = []; for (;;) a.push(new Float64Array(1 << 20)) }`,
  string: `export default () => { let s = "x"; for (;;) s += s }`,
  objects: `export default () => { const a = []; for (let i = 0;; i++) a.push({ i, s: "v" + i }) }`,
  map: `export default () => { const m = new Map(); for (let i = 0;; i++) m.set(i, [i]) }`
}
const SLOW = `export default () => { const end = Date.now() + 300; while (Date.now() < end) {} return "slow done" }`

/** The process's descendants (the embedded PostgreSQL's processes). */
const descendants = (pid: number): Array<number> => {
  let children: Array<number> = []
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map(Number)
      .filter(Boolean)
  } catch {
    // ps exits 1 when there are none
  }
  return children.flatMap((child) => [child, ...descendants(child)])
}

export const runMemoryBench = async (options: { readonly settleSeconds: number }) => {
  const dataDir = mkdtempSync(join(tmpdir(), "picloud-memory-"))
  const picloud = await startPicloud({
    dataDir,
    port: await freePort(),
    env: { PICLOUD_ADMIN_TOKEN: TOKEN, LOG_LEVEL: "Warn", PICLOUD_MAX_CONCURRENT_EXECUTIONS: String(GATE) }
  })
  const pid = picloud.child.pid!
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${picloud.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body)
    })
    return { status: res.status, text: await res.text() }
  }
  const deploy = async (script: string, source: string) => {
    const res = await call("POST", "/api/admin/scripts", { name: script, source, timeout_seconds: 10 })
    if (res.status !== 201) throw new Error(`deploying ${script}: ${res.status} ${res.text}`)
  }
  const snapshot = (label: string) => {
    const children = descendants(pid)
    const sum = (f: (pid: number) => number) => children.map(f).reduce((a, b) => a + b, 0)
    const own = rssMb(pid)
    console.log(
      `  ${label.padEnd(38)} PiCloud RSS ${
        own.toFixed(0).padStart(4)
      } MB   PostgreSQL (${children.length} processes) RSS ${sum(rssMb).toFixed(0).padStart(4)} MB, PSS ${
        sum(pssMb).toFixed(0).padStart(4)
      } MB`
    )
    return own
  }
  try {
    console.log(`\nmemory: memory bombs, then ${GATE * 6} slow calls at a gate of ${GATE}, then rest`)
    for (const script of Object.keys(BOMBS)) await deploy(`bomb-${script}`, BOMBS[script as keyof typeof BOMBS])
    await deploy("slow", SLOW)
    const idle = snapshot("idle (scripts deployed)")
    for (const script of Object.keys(BOMBS)) {
      const res = await call("GET", `/api/execute/bomb-${script}`)
      if (res.status !== 507) throw new Error(`bomb-${script}: ${res.status} ${res.text}`)
    }
    snapshot("after 5 memory bombs (507 each)")
    const statuses = await Promise.all(Array.from({ length: GATE * 6 }, () => call("GET", "/api/execute/slow")))
    const count = (status: number) => statuses.filter((r) => r.status === status).length
    snapshot(`after the gate storm (${count(200)}×200, ${count(503)}×503)`)
    let settled = 0
    for (let waited = 10; waited <= options.settleSeconds; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10_000))
      settled = snapshot(`${waited} s later`)
    }
    console.log(`  PiCloud settled at ${((settled / idle - 1) * 100).toFixed(0)} % over idle (goal: within 25 %)`)
  } finally {
    picloud.child.kill("SIGTERM")
    await picloud.exited
    rmSync(dataDir, { recursive: true, force: true })
  }
}
