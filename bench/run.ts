/**
 * `npm run bench`: the platform against a raw node:http server doing the same work, in one run, on
 * this machine. Each round drives every target with autocannon (its own process, keep-alive,
 * 32 connections); medians over the rounds are printed with the platform/raw ratios.
 *
 * Then the memory scenario (bench/memory.ts: memory bombs and a gate storm, RSS per process), a
 * script's `kv` reads and writes against node:http + node-postgres doing the same on the same
 * PostgreSQL (bench/kv.ts), the async path against graphile-worker (bench/asyncDispatch.ts), and
 * the cluster's RPC hop: sync hello through an orchestrator with a remote executor against
 * all-in-one (bench/rpcHop.ts).
 *
 *   BENCH_DURATION (seconds, default 10)  BENCH_ROUNDS (default 3)  BENCH_CONNECTIONS (default 32)
 *   BENCH_ASYNC_JOBS (jobs per async round, default 2000)
 *   BENCH_ONLY (sync | memory | kv | async | rpc: parts, comma-separated; or sync workloads by name: hello,fib,marked)
 *   BENCH_SETTLE (seconds after the sync load before the settled RSS is read, default 30)
 *   BENCH_CPU_PROF (a directory: PiCloud's threads' CPU profiles in the kv part, for finding where time goes)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, spawnLogged, startPicloud, waitFor } from "../test/e2e/picloudProcess.ts"
import { runAsyncBench } from "./asyncDispatch.ts"
import { runKvBench } from "./kv.ts"
import { drive, formatMedians, formatRound, medianSample, type Sample } from "./load.ts"
import { runMemoryBench } from "./memory.ts"
import { runRpcHopBench } from "./rpcHop.ts"
import { rssMb } from "./rss.ts"
import { median } from "./stats.ts"
import { benchHeaders, fibSource, helloSource, markdownBody, markedSource } from "./workload.ts"

const duration = Number(process.env.BENCH_DURATION ?? 10)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const asyncJobs = Number(process.env.BENCH_ASYNC_JOBS ?? 2000)
const settleSeconds = Number(process.env.BENCH_SETTLE ?? 30)
const parts = ["sync", "memory", "kv", "async", "rpc"] as const
const workloads = ["hello", "fib", "marked"] as const
type Workload = typeof workloads[number]
const only = process.env.BENCH_ONLY?.split(",")
for (const name of only ?? []) {
  if (![...parts, ...workloads].some((part) => part === name)) {
    throw new Error(`BENCH_ONLY names ${[...parts, ...workloads].join(", ")}, not ${JSON.stringify(name)}`)
  }
}
const selected = workloads.filter((w) => only === undefined || only.includes("sync") || only.includes(w))
const runs = (part: typeof parts[number]) =>
  only === undefined || only.includes(part) || (part === "sync" && selected.length > 0)
const TOKEN = "bench-token"

const load = { connections, durationSeconds: duration, headers: { authorization: `Bearer ${TOKEN}` } }

const drives: Record<Workload, (url: string) => Promise<Sample>> = {
  hello: (url: string) => drive(url, load),
  fib: (url: string) =>
    drive(url, {
      ...load,
      method: "POST",
      body: JSON.stringify({ n: 30 }),
      headers: { ...load.headers, "content-type": "application/json", ...benchHeaders }
    }),
  // 16 connections, as the issue measured it: each call is CPU-bound in the interpreter.
  marked: (url: string) =>
    drive(url, {
      ...load,
      connections: Math.min(16, connections),
      method: "POST",
      body: markdownBody,
      headers: { ...load.headers, "content-type": "text/markdown" }
    })
}

const main = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "picloud-bench-"))
  const rawPort = await freePort()
  const raw = spawnLogged(
    process.execPath,
    [fileURLToPath(new URL("rawServer.ts", import.meta.url)), String(rawPort)],
    {}
  )
  const picloud = await startPicloud({
    dataDir,
    port: await freePort(),
    env: { PICLOUD_ADMIN_TOKEN: TOKEN, LOG_LEVEL: "Warn" }
  })
  try {
    await waitFor(`http://127.0.0.1:${rawPort}/hello`, 10_000, raw)
    for (const [name, source] of [["hello", helloSource], ["fib", fibSource], ["marked", markedSource]] as const) {
      const res = await fetch(`${picloud.url}/api/admin/scripts`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name, source })
      })
      if (res.status !== 201) throw new Error(`deploying ${name}: ${res.status} ${await res.text()}`)
    }
    const targets = selected.flatMap((workload) => [
      [`raw ${workload}`, `http://127.0.0.1:${rawPort}/${workload}`, workload] as const,
      [`picloud ${workload}`, `${picloud.url}/api/execute/${workload}`, workload] as const
    ])
    const samples = new Map<string, Array<Sample>>()
    const pid = picloud.child.pid!
    const idleRss = rssMb(pid)
    let peakRss = idleRss
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 250)
    console.log(
      `bench: ${rounds} round(s) of ${duration} s per target, ${connections} connections, node ${process.version}`
    )
    for (let round = 1; round <= rounds; round++) {
      for (const [label, url, workload] of targets) {
        // Drive in a child process, asynchronously, so the RSS sampler keeps running.
        const sample = await drives[workload](url)
        samples.set(label, [...(samples.get(label) ?? []), sample])
        console.log(formatRound(round, label, sample))
      }
    }
    clearInterval(sampler)
    const afterRss = rssMb(pid)
    const summary = (label: string) => medianSample(samples.get(label)!)
    console.log(formatMedians("medians", targets.map(([label]) => [label, summary(label)])))
    console.log("\nratio platform/raw (req/s): of the medians, and the median of each round's ratio")
    for (const workload of selected) {
      const ratio = summary(`picloud ${workload}`).rps / summary(`raw ${workload}`).rps
      const perRound = median(
        samples.get(`picloud ${workload}`)!.map((s, i) => s.rps / samples.get(`raw ${workload}`)![i]!.rps)
      )
      console.log(`  ${workload.padEnd(8)} ${ratio.toFixed(2)}   ${perRound.toFixed(2)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000))
    const settledRss = rssMb(pid)
    console.log(
      `\nPiCloud process RSS (MB): idle ${idleRss.toFixed(0)}, peak under load ${peakRss.toFixed(0)}, ` +
        `right after ${afterRss.toFixed(0)}, ${settleSeconds} s later ${settledRss.toFixed(0)} ` +
        `(${((settledRss / idleRss - 1) * 100).toFixed(0)} % over idle)`
    )
  } finally {
    raw.child.kill("SIGTERM")
    picloud.child.kill("SIGTERM")
    await Promise.all([raw.exited, picloud.exited])
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (runs("sync")) await main()
if (runs("memory")) await runMemoryBench({ settleSeconds })
if (runs("kv")) {
  await runKvBench({ rounds, durationSeconds: duration, connections, cpuProfileDir: process.env.BENCH_CPU_PROF })
}
if (runs("async")) await runAsyncBench({ rounds, jobs: asyncJobs })
if (runs("rpc")) await runRpcHopBench({ rounds, durationSeconds: duration, connections })
