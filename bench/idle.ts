/**
 * `npm run bench:idle`: starts the all-in-one process, measures start-up time and resident memory,
 * then the CPU time it (and its embedded PostgreSQL) spends over a quiet minute.
 *
 *   IDLE_SECONDS (default 60)
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, startPicloud } from "../test/e2e/picloudProcess.ts"

const seconds = Number(process.env.IDLE_SECONDS ?? 60)
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }))

/** The process and all its descendants (the embedded PostgreSQL runs as children). */
const tree = (pid: number): Array<number> => {
  let children: Array<number> = []
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map(Number).filter(Boolean)
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

const dataDir = mkdtempSync(join(tmpdir(), "picloud-idle-"))
try {
  const env = { PICLOUD_ADMIN_TOKEN: "idle", LOG_LEVEL: "Warn" }
  const first = await startPicloud({ dataDir, port: await freePort(), env })
  console.log(`first start (initialises PostgreSQL): ${first.startupMs} ms to a healthy /health`)
  first.child.kill("SIGTERM")
  await first.exited
  const picloud = await startPicloud({ dataDir, port: await freePort(), env })
  console.log(`start on an existing data dir: ${picloud.startupMs} ms to a healthy /health`)
  await new Promise((r) => setTimeout(r, 2000))
  const pids = tree(picloud.child.pid!)
  const node = [picloud.child.pid!]
  const postgres = pids.slice(1)
  console.log(`RSS at idle: PiCloud ${rssMb(node).toFixed(0)} MB, embedded PostgreSQL ${rssMb(postgres).toFixed(0)} MB (${postgres.length} processes)`)
  const [nodeBefore, pgBefore] = [cpuSeconds(node), cpuSeconds(postgres)]
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const [nodeCpu, pgCpu] = [cpuSeconds(node) - nodeBefore, cpuSeconds(tree(picloud.child.pid!).slice(1)) - pgBefore]
  console.log(`CPU over ${seconds} s idle: PiCloud ${(nodeCpu * 1000).toFixed(0)} ms (${(nodeCpu / seconds * 100).toFixed(3)}%), PostgreSQL ${(pgCpu * 1000).toFixed(0)} ms (${(pgCpu / seconds * 100).toFixed(3)}%)`)
  picloud.child.kill("SIGTERM")
  await picloud.exited
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
