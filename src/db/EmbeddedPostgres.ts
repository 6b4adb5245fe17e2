import { Context, Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import * as Settings from "../config/Settings.ts"
import { freePort } from "./freePort.ts"
import * as PostgresServer from "./postgresServer.ts"

/** Where the embedded PostgreSQL listens, and how to log in. */
export interface EmbeddedPostgresConnection {
  readonly host: string
  readonly port: number
  readonly username: string
  readonly password: Redacted.Redacted
  readonly database: string
  /**
   * The cluster's directory: `$PICLOUD_DATA_DIR/postgres`, or, as root when the `postgres` user
   * cannot reach that, the `/var/lib/picloud/clusters/…` directory it links to.
   */
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
      const passwordFile = join(dataDir, "postgres.password")
      // PostgreSQL's own output arrives in callbacks: log it with this layer's logger and level.
      const context = yield* Effect.context<never>()
      const log = (message: string) => Effect.runForkWith(context)(Effect.logInfo(message))
      const debug = (message: string) => Effect.runForkWith(context)(Effect.logDebug(message.trimEnd()))

      const started = Date.now()
      const cluster = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const account = await PostgresServer.postgresAccount()
            await mkdir(dataDir, { recursive: true })
            if (account !== undefined) {
              // The data directory is ours: let the postgres user pass through it (not read it).
              const mode = (await stat(dataDir)).mode & 0o777
              if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001)
            }
            const binaries = await PostgresServer.placeBinaries(account, log)
            const directory = await PostgresServer.placeCluster(dataDir, account, log)
            let password = await readFile(passwordFile, "utf8").catch(() => undefined)
            if (password === undefined) {
              password = randomBytes(24).toString("base64url")
              await writeFile(passwordFile, password, { mode: 0o600 })
            }
            await chmod(passwordFile, 0o600)
            const common = { binaries, account, directory, onLog: debug }
            if (!(await exists(join(directory, "PG_VERSION")))) {
              log(`initialising PostgreSQL under ${directory}`)
              await PostgresServer.initialise({
                ...common,
                user: USER,
                password,
                initdbFlags: CLUSTER_FLAGS.initdbFlags
              })
            }
            await clearStaleLock(directory, log)
            const port = await freePort()
            const child = await PostgresServer.start({ ...common, port, postgresFlags: CLUSTER_FLAGS.postgresFlags })
            return { child, port, password, directory }
          },
          catch: (cause) =>
            new EmbeddedPostgresError(
              `cannot start the embedded PostgreSQL under ${dataDir}: ${
                cause instanceof Error ? cause.message : String(cause)
              }`,
              { cause }
            )
        }),
        ({ child }) => {
          // If PostgreSQL died under us (killed, crashed), there is nothing to stop.
          if (child.exitCode !== null || child.signalCode !== null) {
            return Effect.logWarning("embedded PostgreSQL had already stopped")
          }
          return Effect.promise(() => PostgresServer.stop(child)).pipe(
            Effect.timeout("30 seconds"),
            Effect.catch(() => Effect.sync(() => child.kill("SIGKILL"))),
            Effect.andThen(Effect.logInfo("embedded PostgreSQL stopped"))
          )
        }
      )
      yield* Effect.logInfo(
        `embedded PostgreSQL ready on 127.0.0.1:${cluster.port} in ${
          Date.now() - started
        } ms; its files are in ${cluster.directory}`
      )
      return EmbeddedPostgres.of({
        host: "127.0.0.1",
        port: cluster.port,
        username: USER,
        password: Redacted.make(cluster.password),
        database: "postgres",
        directory: cluster.directory
      })
    })
  )
}
