import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { NODE_FLAGS } from "../../src/runtime/nodeFlags.ts"
import { jsonOrUndefined } from "../support/client.ts"

const MAIN = fileURLToPath(new URL("../../src/runtime/main.ts", import.meta.url))

export { freePort } from "../../src/db/freePort.ts"

export interface RunningProcess {
  readonly child: ChildProcess
  readonly output: () => string
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>
}

export const spawnLogged = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  options: { readonly cwd?: string } = {}
): RunningProcess => {
  const child = spawn(command, args, { ...options, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1))
  )
  return { child, output: () => output, exited }
}

/** Resolves with the exit code, or fails after `ms` with what the process printed (so a hang shows why). */
export const exitWithin = (proc: RunningProcess, ms = 45_000) =>
  Promise.race([
    proc.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`process did not exit within ${ms} ms:\n${proc.output()}`)), ms).unref()
    )
  ])

export const waitFor = async (url: string, timeoutMs: number, proc?: RunningProcess) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`)
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms:\n${proc?.output() ?? ""}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Starts the all-in-one process as `npm start` does (its entry, its flags) and waits until /health answers. */
export const startPicloud = async (
  options: { readonly dataDir: string; readonly port: number; readonly env?: Record<string, string> }
) => {
  const proc = spawnLogged(process.execPath, [...NODE_FLAGS, MAIN], {
    PORT: String(options.port),
    HOST: "127.0.0.1",
    PICLOUD_DATA_DIR: options.dataDir,
    LOG_LEVEL: "Info",
    ...options.env
  })
  const started = Date.now()
  try {
    await waitFor(`http://127.0.0.1:${options.port}/health`, 30_000, proc)
  } catch (error) {
    // Never leave a half-started process behind: it would hold the data directory for the next test.
    proc.child.kill("SIGKILL")
    throw error
  }
  return { ...proc, url: `http://127.0.0.1:${options.port}`, startupMs: Date.now() - started }
}

/**
 * A JSON client of a running PiCloud: `call(method, path, body?, token?)` answers the status, the
 * text and the parsed JSON (`undefined` when the body is not JSON). `base` is read per call, so a
 * test can point it at a restarted process.
 */
export const jsonClient =
  (base: () => string, defaultToken: string) =>
  async (method: string, path: string, body?: unknown, token = defaultToken) => {
    const res = await fetch(`${base()}${path}`, {
      signal: AbortSignal.timeout(40_000),
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" })
      },
      body: body === undefined ? null : JSON.stringify(body)
    })
    const text = await res.text()
    return { status: res.status, headers: res.headers, text, json: jsonOrUndefined(text) }
  }
