/**
 * `npm run bench`: the platform against a raw node:http server doing the same work, in one run, on
 * this machine. Each round drives every target with autocannon (its own process, keep-alive,
 * 32 connections); medians over the rounds are printed with the platform/raw ratios.
 *
 * Then the async path against graphile-worker (bench/asyncDispatch.ts).
 *
 *   BENCH_DURATION (seconds, default 10)  BENCH_ROUNDS (default 3)  BENCH_CONNECTIONS (default 32)
 *   BENCH_ASYNC_JOBS (jobs per async round, default 2000)  BENCH_ONLY (sync | async: run one half)
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, spawnLogged, startPicloud, waitFor } from "../test/e2e/picloudProcess.ts"
import { runAsyncBench } from "./asyncDispatch.ts"
import { median } from "./stats.ts"
import { benchHeaders, fibSource, helloSource } from "./workload.ts"

const duration = Number(process.env.BENCH_DURATION ?? 10)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const asyncJobs = Number(process.env.BENCH_ASYNC_JOBS ?? 2000)
const only = process.env.BENCH_ONLY
const AUTOCANNON = fileURLToPath(import.meta.resolve("autocannon/autocannon.js"))
const TOKEN = "bench-token"

interface Sample {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly failures: number
}

const drive = (url: string, workload: "hello" | "fib"): Sample => {
  const args = [
    AUTOCANNON,
    "-j",
    "-c",
    String(connections),
    "-d",
    String(duration),
    "-H",
    `authorization=Bearer ${TOKEN}`
  ]
  if (workload === "fib") {
    args.push("-m", "POST", "-b", JSON.stringify({ n: 30 }), "-H", "content-type=application/json")
    for (const [name, value] of Object.entries(benchHeaders)) args.push("-H", `${name}=${value}`)
  }
  args.push(url)
  const out = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }))
  return {
    rps: out.requests.average,
    p50: out.latency.p50,
    p99: out.latency.p99,
    failures: out.non2xx + out.errors + out.timeouts
  }
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
        const sample = drive(url, workload)
        samples.set(label, [...(samples.get(label) ?? []), sample])
        console.log(
          `  round ${round} ${label.padEnd(14)} ${
            sample.rps.toFixed(0).padStart(7)
          } req/s  p50 ${sample.p50} ms  p99 ${sample.p99} ms${sample.failures ? `  FAILURES ${sample.failures}` : ""}`
        )
      }
    }
    const summary = (label: string) => {
      const xs = samples.get(label)!
      return {
        rps: median(xs.map((s) => s.rps)),
        p50: median(xs.map((s) => s.p50)),
        p99: median(xs.map((s) => s.p99)),
        failures: xs.reduce((n, s) => n + s.failures, 0)
      }
    }
    console.log("\nmedians                 req/s    p50 ms   p99 ms  failures")
    for (const label of Object.keys(targets)) {
      const s = summary(label)
      console.log(
        `  ${label.padEnd(18)} ${s.rps.toFixed(0).padStart(8)} ${String(s.p50).padStart(8)} ${
          String(s.p99).padStart(8)
        } ${String(s.failures).padStart(9)}`
      )
    }
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

if (only !== "async") await main()
if (only !== "sync") await runAsyncBench({ rounds, jobs: asyncJobs })
