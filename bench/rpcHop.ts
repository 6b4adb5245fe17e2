/**
 * The rpc part of `npm run bench`: the cost of the cluster's RPC hop. Sync hello through an
 * orchestrator whose executor is another process (`picloud orchestrator` + `picloud executor`,
 * over effect RPC on a WebSocket) against the all-in-one process (worker threads in process), in
 * alternating rounds of the same run, on one PostgreSQL of our own. Both have the same executor
 * threads (the default: the available cores) and the same pool.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, spawnLogged, startPicloud, waitFor } from "../test/e2e/picloudProcess.ts"
import { startStandalonePostgres } from "../test/support/standalonePostgres.ts"
import { drive, formatMedians, formatRound, medianSample, type Sample } from "./load.ts"
import { helloSource } from "./workload.ts"

const TOKEN = "bench-rpc-token"
const MAIN = fileURLToPath(new URL("../src/runtime/main.ts", import.meta.url))
/** Not counted: connections, JIT, the warm sandboxes, on each side. */
const WARM_UP_SECONDS = 2

export const runRpcHopBench = async (
  options: { readonly rounds: number; readonly durationSeconds: number; readonly connections: number }
) => {
  const dir = mkdtempSync(join(tmpdir(), "picloud-bench-rpc-"))
  const database = await startStandalonePostgres(dir)
  const common = { PICLOUD_ADMIN_TOKEN: TOKEN, DATABASE_URL: database.url, LOG_LEVEL: "Warn", HOST: "127.0.0.1" }
  const allInOne = await startPicloud({
    dataDir: join(dir, "data"),
    port: await freePort(),
    env: { ...common, PICLOUD_NODE_ID: "all-in-one" }
  })
  const [executorPort, orchestratorPort] = [await freePort(), await freePort()]
  const executor = spawnLogged(process.execPath, [MAIN, "executor"], { ...common, PORT: String(executorPort) })
  const orchestrator = spawnLogged(process.execPath, [MAIN, "orchestrator"], {
    ...common,
    PORT: String(orchestratorPort),
    PICLOUD_NODE_ID: "orchestrator",
    PICLOUD_EXECUTOR_URL: `http://127.0.0.1:${executorPort}`
  })
  try {
    await waitFor(`http://127.0.0.1:${executorPort}/health`, 30_000, executor)
    await waitFor(`http://127.0.0.1:${orchestratorPort}/health`, 30_000, orchestrator)
    // One database: the script deployed through the all-in-one process is the orchestrator's too.
    const res = await fetch(`${allInOne.url}/api/admin/scripts`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "hello", source: helloSource })
    })
    if (res.status !== 201) throw new Error(`deploying hello: ${res.status} ${await res.text()}`)
    // Sync hello on each: in process, and through an orchestrator to its executor.
    const targets = {
      "all-in-one": `${allInOne.url}/api/execute/hello`,
      "remote exec": `http://127.0.0.1:${orchestratorPort}/api/execute/hello`
    }
    const load = {
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      headers: { authorization: `Bearer ${TOKEN}` }
    }
    for (const url of Object.values(targets)) await drive(url, { ...load, durationSeconds: WARM_UP_SECONDS })
    const samples = new Map<string, Array<Sample>>()
    console.log(`\nrpc hop: ${options.rounds} round(s) of ${options.durationSeconds} s per target`)
    for (let round = 1; round <= options.rounds; round++) {
      for (const [label, url] of Object.entries(targets)) {
        const sample = await drive(url, load)
        samples.set(label, [...(samples.get(label) ?? []), sample])
        console.log(formatRound(round, label, sample))
      }
    }
    const summary = (label: string) => medianSample(samples.get(label)!)
    console.log(formatMedians("medians", Object.keys(targets).map((label) => [label, summary(label)])))
    const [local, remote] = [summary("all-in-one"), summary("remote exec")]
    console.log("\nratio remote executor / all-in-one")
    console.log(`  req/s    ${(remote.rps / local.rps).toFixed(2)}`)
    console.log(`  p50      ${(remote.p50 / local.p50).toFixed(2)}`)
  } finally {
    for (const proc of [orchestrator, executor, allInOne]) proc.child.kill("SIGTERM")
    await Promise.all([orchestrator.exited, executor.exited, allInOne.exited])
    await database.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
