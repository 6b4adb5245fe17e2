/**
 * `npm run bench:profile -- <hello|fib|marked> [seconds]`: one all-in-one process under autocannon
 * (32 connections) on one workload, then the CPU each of its threads spent per request (from
 * /proc: the main thread, the sandbox workers, V8's helper threads; and the embedded PostgreSQL's
 * processes, which write the execution records), which contention on a shared
 * machine inflates far less than wall-clock profiles. With `PROFILE_DIR`, PiCloud runs with
 * `--cpu-prof` and the top self-time functions of each thread's profile are printed too.
 *
 * Both servers get `PROFILE_WARMUP` seconds (default 3) of the same load first, unmeasured: in the
 * first seconds V8's helper threads compile the hot code (JavaScript and the QuickJS WebAssembly),
 * which once counted here as ~35 µs per request. The raw `node:http` baseline is then measured the
 * same way, and so is autocannon itself, to print the CPU budget the workload's platform/raw goal
 * leaves: on this machine's cores, at ratio `r`, PiCloud and PostgreSQL together may spend
 * `cores / (r × raw req/s)` per request, less autocannon's share (as against the raw server, where
 * it is cheapest per request).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { availableParallelism, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, spawnLogged, startPicloud, waitFor } from "../test/e2e/picloudProcess.ts"
import { benchHeaders, fibSource, helloSource, markdownBody, markedSource } from "./workload.ts"

const [workload = "hello", seconds = "10"] = process.argv.slice(2)
const sources: Record<string, string> = { hello: helloSource, fib: fibSource, marked: markedSource }
if (!(workload in sources)) throw new Error(`the workload is hello, fib or marked, not ${workload}`)
const profileDir = process.env.PROFILE_DIR
const TOKEN = "bench-token"
const AUTOCANNON = fileURLToPath(import.meta.resolve("autocannon/autocannon.js"))
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }))
const WARMUP_SECONDS = process.env.PROFILE_WARMUP ?? "3"
/** Issue 15's platform/raw goal per workload, for the budget line. */
const RATIO_GOALS: Record<string, number> = { hello: 0.4, fib: 0.35, marked: 0.15 }

if (profileDir !== undefined) {
  rmSync(profileDir, { recursive: true, force: true })
  mkdirSync(profileDir, { recursive: true })
}
const dataDir = mkdtempSync(join(tmpdir(), "picloud-profile-"))
const picloud = await startPicloud({
  dataDir,
  port: await freePort(),
  env: {
    PICLOUD_ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: "Warn",
    ...(profileDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` })
  }
})

/** CPU milliseconds (user + system) per thread of the process, by `tid name`. */
const threadCpu = (pid: number) =>
  new Map(
    readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ")
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
      return [`${tid} ${name}`, ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1000] as const
    })
  )

/** CPU milliseconds of the process's descendants (the embedded PostgreSQL), live ones only. */
const descendantsCpu = (pid: number): number => {
  let children: Array<number> = []
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map(Number)
      .filter(Boolean)
  } catch {
    // ps exits 1 when there are none
  }
  return children.reduce((sum, child) => {
    try {
      const stat = readFileSync(`/proc/${child}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ")
      // Its own time and that of its children that ended (PostgreSQL's backends are its children).
      const own = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
      return sum + (own / TICKS) * 1000 + descendantsCpu(child)
    } catch {
      return sum
    }
  }, 0)
}

/** CPU milliseconds of this process's children that have ended and been waited for (autocannon's runs). */
const endedChildrenCpu = () => {
  const stat = readFileSync("/proc/self/stat", "utf8")
  const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ")
  return ((Number(fields[13]) + Number(fields[14])) / TICKS) * 1000
}

/** autocannon's arguments for this workload against `url` (the raw server ignores the token). */
const loadArgs = (url: string, duration: string) => {
  const args = [AUTOCANNON, "-j", "-c", "32", "-d", duration, "-H", `authorization=Bearer ${TOKEN}`]
  if (workload === "fib") {
    args.push("-m", "POST", "-b", JSON.stringify({ n: 30 }), "-H", "content-type=application/json")
    for (const [name, value] of Object.entries(benchHeaders)) args.push("-H", `${name}=${value}`)
  }
  if (workload === "marked") args.push("-m", "POST", "-b", markdownBody, "-H", "content-type=text/markdown")
  args.push(url)
  return args
}

/**
 * Drives `url`, warm-up first, then measures: autocannon's result, the CPU milliseconds each thread
 * of `pid` and its descendants (PostgreSQL) spent, and autocannon's own CPU per request.
 */
const drive = (url: string, pid: number) => {
  execFileSync(process.execPath, loadArgs(url, WARMUP_SECONDS), { encoding: "utf8", maxBuffer: 1 << 26 })
  const threadsBefore = threadCpu(pid)
  const descendantsBefore = descendantsCpu(pid)
  const loaderBefore = endedChildrenCpu()
  const out = JSON.parse(
    execFileSync(process.execPath, loadArgs(url, seconds), { encoding: "utf8", maxBuffer: 1 << 26 })
  )
  const requests = out.requests.total as number
  const threads = [...threadCpu(pid)].map(([thread, ms]) => [thread, ms - (threadsBefore.get(thread) ?? 0)] as const)
  return {
    out,
    requests,
    threads,
    threadsMs: threads.reduce((sum, [, ms]) => sum + ms, 0),
    descendantsMs: descendantsCpu(pid) - descendantsBefore,
    loaderUs: ((endedChildrenCpu() - loaderBefore) * 1000) / requests
  }
}

const perRequest = (ms: number, requests: number) => `${((ms * 1000) / requests).toFixed(1)} µs CPU per request`

const rawPort = await freePort()
const raw = spawnLogged(
  process.execPath,
  [fileURLToPath(new URL("rawServer.ts", import.meta.url)), String(rawPort)],
  {}
)
try {
  await waitFor(`http://127.0.0.1:${rawPort}/hello`, 10_000, raw)
  const res = await fetch(`${picloud.url}/api/admin/scripts`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: workload, source: sources[workload] })
  })
  if (res.status !== 201) throw new Error(`deploying ${workload}: ${res.status} ${await res.text()}`)
  const rawRun = drive(`http://127.0.0.1:${rawPort}/${workload}`, raw.child.pid!)

  const { out, requests, threads, threadsMs, descendantsMs, loaderUs } = drive(
    `${picloud.url}/api/execute/${workload}`,
    picloud.child.pid!
  )
  console.log(
    `${workload}: ${out.requests.average} req/s, p50 ${out.latency.p50} ms, p99 ${out.latency.p99} ms, ` +
      `${out.non2xx} not 2xx`
  )
  for (const [thread, ms] of threads) {
    if (ms >= 50) console.log(`  ${thread.padEnd(24)} ${perRequest(ms, requests)}`)
  }
  console.log(`  ${"all threads".padEnd(24)} ${perRequest(threadsMs, requests)}`)
  console.log(`  ${"PostgreSQL".padEnd(24)} ${perRequest(descendantsMs, requests)}`)
  console.log(`  ${"autocannon".padEnd(24)} ${loaderUs.toFixed(1)} µs CPU per request`)
  const rawRps = rawRun.out.requests.average as number
  console.log(`raw node:http ${workload}: ${rawRps} req/s, p50 ${rawRun.out.latency.p50} ms`)
  console.log(`  ${"server".padEnd(24)} ${perRequest(rawRun.threadsMs, rawRun.requests)}`)
  console.log(`  ${"autocannon".padEnd(24)} ${rawRun.loaderUs.toFixed(1)} µs CPU per request`)
  const cores = availableParallelism()
  const spentUs = ((threadsMs + descendantsMs) * 1000) / requests
  const goal = RATIO_GOALS[workload]!
  // autocannon's share as against the raw server, its cheapest per request: the most generous budget.
  const budget = (cores * 1e6) / (goal * rawRps) - rawRun.loaderUs
  console.log(
    `budget: on ${cores} cores, a ratio of ${goal} leaves PiCloud and PostgreSQL ${budget.toFixed(0)} µs of CPU ` +
      `per request; they spent ${spentUs.toFixed(0)} (${(spentUs / budget).toFixed(1)} × the budget)`
  )
} finally {
  raw.child.kill("SIGTERM")
  picloud.child.kill("SIGTERM")
  await picloud.exited
  rmSync(dataDir, { recursive: true, force: true })
}

interface Profile {
  readonly nodes: ReadonlyArray<
    {
      readonly id: number
      readonly callFrame: { readonly functionName: string; readonly url: string; lineNumber: number }
    }
  >
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}
for (const file of profileDir === undefined ? [] : readdirSync(profileDir)) {
  const profile = JSON.parse(readFileSync(join(profileDir!, file), "utf8")) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  let busy = 0
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    if (functionName === "(idle)" || functionName === "(program)") return
    const dt = profile.timeDeltas[i] ?? 0
    busy += dt
    const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber}`
    self.set(key, (self.get(key) ?? 0) + dt)
  })
  console.log(`\n${file}: ${(busy / 1e6).toFixed(1)} s busy; top self time`)
  for (const [key, dt] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`  ${((100 * dt) / busy).toFixed(1).padStart(5)} %  ${key}`)
  }
}
