/**
 * `npm run bench:idle`: starts the all-in-one process, measures start-up time and resident memory,
 * then the CPU time it (and its embedded PostgreSQL) spends over a quiet minute, and the queries it
 * sends in that minute (pg_stat_statements, enabled between the two starts). Last, a burst of
 * `hello` calls, and the memory and PostgreSQL connections right after it and once it has settled.
 *
 *   IDLE_SECONDS (default 60), BURST_REQUESTS (default 5000), SETTLE_SECONDS (default 30)
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { freePort, startPicloud } from "../test/e2e/picloudProcess.ts"
import { helloSource } from "./workload.ts"

const seconds = Number(process.env.IDLE_SECONDS ?? 60)
const burstRequests = Number(process.env.BURST_REQUESTS ?? 5000)
const settleSeconds = Number(process.env.SETTLE_SECONDS ?? 30)
const AUTOCANNON = fileURLToPath(import.meta.resolve("autocannon/autocannon.js"))
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }))

/** The process and all its descendants (the embedded PostgreSQL runs as children). */
const tree = (pid: number): Array<number> => {
  let children: Array<number> = []
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map(Number)
      .filter(Boolean)
  } catch {
    // ps exits 1 when there are none
  }
  return [pid, ...children.flatMap(tree)]
}
const cpuSeconds = (pids: ReadonlyArray<number>) =>
  pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
      return sum + (Number(fields[11]) + Number(fields[12])) / TICKS
    } catch {
      return sum
    }
  }, 0)
const rssMb = (pids: ReadonlyArray<number>) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024
    } catch {
      return sum
    }
  }, 0)

/** One statement on the embedded PostgreSQL, as its own user (port from the log, password from the data dir). */
const query = async (dataDir: string, log: string, text: string) => {
  const port = /embedded PostgreSQL ready on 127\.0\.0\.1:(\d+)/.exec(log)?.[1]
  if (port === undefined) throw new Error(`no PostgreSQL port in the log:\n${log}`)
  const client = new pg.Client({
    host: "127.0.0.1",
    port: Number(port),
    user: "picloud",
    password: readFileSync(join(dataDir, "postgres.password"), "utf8"),
    database: "postgres"
  })
  await client.connect()
  try {
    return await client.query(text)
  } finally {
    await client.end()
  }
}

const dataDir = mkdtempSync(join(tmpdir(), "picloud-idle-"))
try {
  // Info: the log names the embedded PostgreSQL's port, which the query count needs.
  const env = { PICLOUD_ADMIN_TOKEN: "idle", LOG_LEVEL: "Info" }
  const first = await startPicloud({ dataDir, port: await freePort(), env })
  console.log(`first start (initialises PostgreSQL): ${first.startupMs} ms to a healthy /health`)
  // Statement statistics need a library loaded at server start: the restart below loads it.
  await query(dataDir, first.output(), "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
  first.child.kill("SIGTERM")
  await first.exited
  const picloud = await startPicloud({ dataDir, port: await freePort(), env })
  console.log(`start on an existing data dir: ${picloud.startupMs} ms to a healthy /health`)
  await new Promise((r) => setTimeout(r, 2000))
  const pids = tree(picloud.child.pid!)
  const node = [picloud.child.pid!]
  const postgres = pids.slice(1)
  console.log(
    `RSS at idle: PiCloud ${rssMb(node).toFixed(0)} MB, embedded PostgreSQL ${
      rssMb(postgres).toFixed(0)
    } MB (${postgres.length} processes)`
  )
  await query(dataDir, picloud.output(), "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
  await query(dataDir, picloud.output(), "SELECT pg_stat_statements_reset()")
  const [nodeBefore, pgBefore] = [cpuSeconds(node), cpuSeconds(postgres)]
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const { rows } = await query(
    dataDir,
    picloud.output(),
    "SELECT calls, query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC"
  )
  const total = rows.reduce((n, row) => n + Number(row.calls), 0)
  console.log(
    `queries over ${seconds} s idle: ${total}${
      rows.map((row) => `\n  ${row.calls} × ${String(row.query).replace(/\s+/g, " ").slice(0, 90)}`).join("")
    }`
  )
  const [nodeCpu, pgCpu] = [cpuSeconds(node) - nodeBefore, cpuSeconds(tree(picloud.child.pid!).slice(1)) - pgBefore]
  console.log(
    `CPU over ${seconds} s idle: PiCloud ${(nodeCpu * 1000).toFixed(0)} ms (${
      (nodeCpu / seconds * 100).toFixed(3)
    }%), PostgreSQL ${(pgCpu * 1000).toFixed(0)} ms (${(pgCpu / seconds * 100).toFixed(3)}%)`
  )

  // A burst, then the footprint right after it and once it has settled.
  const backends = async () =>
    Number(
      (await query(
        dataDir,
        picloud.output(),
        "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend'"
      )).rows[0].n
    ) - 1
  const footprint = async (when: string) => {
    const all = tree(picloud.child.pid!)
    console.log(
      `${when}: PiCloud ${rssMb(node).toFixed(0)} MB, PostgreSQL ${
        rssMb(all.slice(1)).toFixed(0)
      } MB, ${await backends()} PiCloud connections`
    )
  }
  await footprint("before the burst")
  const created = await fetch(`${picloud.url}/api/admin/scripts`, {
    method: "POST",
    headers: { authorization: "Bearer idle", "content-type": "application/json" },
    body: JSON.stringify({ name: "hello", source: helloSource })
  })
  if (created.status !== 201) throw new Error(`could not deploy hello: ${await created.text()}`)
  execFileSync(process.execPath, [
    AUTOCANNON,
    "-c",
    "32",
    "-a",
    String(burstRequests),
    "-H",
    "authorization=Bearer idle",
    `${picloud.url}/api/execute/hello`
  ], {
    stdio: "ignore"
  })
  await footprint(`after ${burstRequests} hello calls (32 connections)`)
  await new Promise((r) => setTimeout(r, settleSeconds * 1000))
  await footprint(`${settleSeconds} s later`)
  picloud.child.kill("SIGTERM")
  await picloud.exited
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
