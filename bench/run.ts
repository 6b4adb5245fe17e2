/**
 * `npm run bench`: the platform against a raw node:http server doing the same work, in one run, on
 * this machine. Each round drives every target with autocannon (its own process, keep-alive,
 * 32 connections); medians over the rounds are printed with the platform/raw ratios.
 *
 * Then a script's `kv` reads and writes against node:http + node-postgres doing the same on the same
 * PostgreSQL (bench/kv.ts), the async path against graphile-worker (bench/asyncDispatch.ts), and
 * the cluster's RPC hop: sync hello through an orchestrator with a remote executor against
 * all-in-one (bench/rpcHop.ts).
 *
 *   BENCH_DURATION (seconds, default 10)  BENCH_ROUNDS (default 3)  BENCH_CONNECTIONS (default 32)
 *   BENCH_ASYNC_JOBS (jobs per async round, default 2000)  BENCH_ONLY (sync | kv | async | rpc: run one part)
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
import { runRpcHopBench } from "./rpcHop.ts"
import { benchHeaders, fibSource, helloSource } from "./workload.ts"

const duration = Number(process.env.BENCH_DURATION ?? 10)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const asyncJobs = Number(process.env.BENCH_ASYNC_JOBS ?? 2000)
const parts = ["sync", "kv", "async", "rpc"] as const
const only = process.env.BENCH_ONLY
if (only !== undefined && !parts.some((part) => part === only)) {
  throw new Error(`BENCH_ONLY is one of ${parts.join(", ")}, not ${JSON.stringify(only)}`)
}
const runs = (part: typeof parts[number]) => only === undefined || only === part
const TOKEN = "bench-token"

const load = { connections, durationSeconds: duration, headers: { authorization: `Bearer ${TOKEN}` } }

const drives = {
  hello: (url: string) => drive(url, load),
  fib: (url: string) =>
    drive(url, {
      ...load,
      method: "POST",
      body: JSON.stringify({ n: 30 }),
      headers: { ...load.headers, "content-type": "application/json", ...benchHeaders }
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
    for (const [name, source] of [["hello", helloSource], ["fib", fibSource]] as const) {
      const res = await fetch(`${picloud.url}/api/admin/scripts`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name, source })
      })
      if (res.status !== 201) throw new Error(`deploying ${name}: ${res.status} ${await res.text()}`)
    }
    const targets = {
      "raw hello": [`http://127.0.0.1:${rawPort}/hello`, "hello"],
      "picloud hello": [`${picloud.url}/api/execute/hello`, "hello"],
      "raw fib": [`http://127.0.0.1:${rawPort}/fib`, "fib"],
      "picloud fib": [`${picloud.url}/api/execute/fib`, "fib"]
    } as const
    const samples = new Map<string, Array<Sample>>()
    console.log(
      `bench: ${rounds} round(s) of ${duration} s per target, ${connections} connections, node ${process.version}`
    )
    for (let round = 1; round <= rounds; round++) {
      for (const [label, [url, workload]] of Object.entries(targets)) {
        const sample = drives[workload](url)
        samples.set(label, [...(samples.get(label) ?? []), sample])
        console.log(formatRound(round, label, sample))
      }
    }
    const summary = (label: string) => medianSample(samples.get(label)!)
    console.log(formatMedians("medians", Object.keys(targets).map((label) => [label, summary(label)])))
    console.log("\nratio platform/raw (req/s)")
    for (const workload of ["hello", "fib"]) {
      const ratio = summary(`picloud ${workload}`).rps / summary(`raw ${workload}`).rps
      console.log(`  ${workload.padEnd(8)} ${ratio.toFixed(2)}`)
    }
  } finally {
    raw.child.kill("SIGTERM")
    picloud.child.kill("SIGTERM")
    await Promise.all([raw.exited, picloud.exited])
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (runs("sync")) await main()
if (runs("kv")) {
  await runKvBench({ rounds, durationSeconds: duration, connections, cpuProfileDir: process.env.BENCH_CPU_PROF })
}
if (runs("async")) await runAsyncBench({ rounds, jobs: asyncJobs })
if (runs("rpc")) await runRpcHopBench({ rounds, durationSeconds: duration, connections })
