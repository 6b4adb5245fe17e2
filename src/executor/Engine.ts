import type { ExecErrorReason, ExecRequest, ExecResponse } from "../domain/Exec.ts"
import type { LogEntry, LogLevel } from "../domain/Execution.ts"
import { type HostHandler, noHostCalls } from "../domain/HostCall.ts"
import { Failure, isLimitHit } from "./guestErrors.ts"
import { compileQuickJS, MIN_MEMORY_MB } from "./quickjsInstance.ts"
import { Sandbox } from "./Sandbox.ts"
import { toResponse } from "./toResponse.ts"
import { type RunJob, runJob } from "./workerProtocol.ts"

/** Per-execution limits the engine enforces (docs/ARCHITECTURE.md §6). */
export interface EngineLimits {
  /** Hard cap of each sandbox's own WebAssembly memory (at least `MIN_MEMORY_MB`). */
  readonly memoryMb: number
  /** Guest stack; on the main thread keep it <= 256 KiB (a larger one overflows the host stack). */
  readonly stackBytes: number
  readonly maxLogBytes: number
  readonly maxResponseBytes: number
  /** Idle warm sandboxes kept in all (least recently used script version evicted); 0: a fresh one every time. */
  readonly warmScripts: number
  /** What the idle warm sandboxes may hold in all (the sizes of their memories); least recently used evicted past it. */
  readonly warmMemoryMb: number
  /**
   * Host calls (`kv.*`) one execution may send (`PICLOUD_KV_MAX_OPS`); past it each is refused in
   * the worker, so a script calling in a loop without awaiting cannot flood the main thread.
   */
  readonly maxHostCalls: number
}

export const defaultLimits: EngineLimits = {
  memoryMb: 64,
  stackBytes: 256 * 1024,
  maxLogBytes: 64 * 1024,
  maxResponseBytes: 1024 * 1024,
  warmScripts: 16,
  warmMemoryMb: 256,
  maxHostCalls: 1000
}

/** Plain data, so it crosses a worker boundary as it is. */
export type EngineResult =
  | { readonly ok: true; readonly response: ExecResponse }
  | {
    readonly ok: false
    readonly reason: ExecErrorReason
    readonly message: string
    readonly logs: ReadonlyArray<LogEntry>
    readonly logsTruncated: boolean
    readonly durationMs: number
  }

export type ValidationResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly message: string; readonly line: number | null; readonly column: number | null }

const VALIDATE_DEADLINE_MS = 250

/** Captured console output of one execution, capped at `maxBytes` of message text. */
class LogCapture {
  readonly entries: Array<LogEntry> = []
  truncated = false
  private bytes = 0
  private readonly started: number
  private readonly maxBytes: number

  constructor(started: number, maxBytes: number) {
    this.started = started
    this.maxBytes = maxBytes
  }

  readonly add = (level: LogLevel, message: string) => {
    if (this.truncated) return
    const room = this.maxBytes - this.bytes
    if (message.length > room) {
      this.truncated = true
      if (room > 0) this.entries.push({ level, message: message.slice(0, room), at: Date.now() - this.started })
      this.bytes = this.maxBytes
      return
    }
    this.bytes += message.length
    this.entries.push({ level, message, at: Date.now() - this.started })
  }
}

/**
 * The QuickJS sandbox engine. A script version's sandbox stays warm between its executions (its
 * module scope persists, as in Cloudflare Workers), never shared with another script or version,
 * and is thrown away after any limit hit. Each sandbox is its own WebAssembly instance with its own
 * capped memory, so a script can exhaust only its own; the code is compiled once per engine.
 * Executions run concurrently: each holds a sandbox of its own while it runs, and while one awaits
 * a host call (`kv.*`) the thread runs the others (a second execution of a version whose warm
 * sandbox is busy gets another one). Free of Effect, so a worker thread hosts it unchanged.
 */
export class Engine {
  readonly limits: EngineLimits
  private readonly code: WebAssembly.Module
  /** Idle warm sandboxes by `scriptId@version`, least recently used version first. */
  private readonly warm = new Map<string, Array<Sandbox>>()
  /** The validation in progress: see `serially`. */
  private queue: Promise<unknown> = Promise.resolve()
  /** A collection is due (`reclaimSoon`). */
  private reclaiming = false

  private constructor(limits: EngineLimits, code: WebAssembly.Module) {
    this.limits = limits
    this.code = code
  }

  static async make(limits: EngineLimits = defaultLimits): Promise<Engine> {
    if (limits.memoryMb < MIN_MEMORY_MB) {
      throw new Error(`the sandbox memory must be at least ${MIN_MEMORY_MB} MiB, got ${limits.memoryMb}`)
    }
    return new Engine(limits, await compileQuickJS())
  }

  /** The WebAssembly memory the idle warm sandboxes hold, in bytes. */
  get warmMemoryBytes(): number {
    let bytes = 0
    for (const sandboxes of this.warm.values()) for (const sandbox of sandboxes) bytes += sandbox.memoryBytes
    return bytes
  }

  /** How many idle warm sandboxes there are. */
  get warmCount(): number {
    let count = 0
    for (const sandboxes of this.warm.values()) count += sandboxes.length
    return count
  }

  /**
   * Evaluates the module in a throwaway sandbox (top-level code runs, sandboxed, for at most
   * 250 ms) and checks it has a default export function. A syntax error comes with line and column.
   * (QuickJS's compile-only mode is not used: freeing its result corrupts the module's memory.)
   */
  validate(source: string): Promise<ValidationResult> {
    return this.serially(() => this.validateNow(source))
  }

  /** Runs an execution; its host calls (`kv.*`) go to `host`. */
  run(request: ExecRequest, host: HostHandler = noHostCalls): Promise<EngineResult> {
    return this.runJob(runJob(request), request.script.source, host)
  }

  /** Runs an execution already encoded (what a worker thread receives); `source` is the script's. */
  runJob(job: RunJob, source: string, host: HostHandler = noHostCalls): Promise<EngineResult> {
    return this.runNow(job, source, host)
  }

  /** Runs validations one at a time, in order: each builds a throwaway sandbox, and one at a time is enough. */
  private serially<A>(job: () => Promise<A>): Promise<A> {
    const result = this.queue.then(job)
    this.queue = result.catch(() => undefined)
    return result
  }

  private async validateNow(source: string): Promise<ValidationResult> {
    const outcome = await this.inSandbox(
      undefined,
      Date.now() + VALIDATE_DEADLINE_MS,
      () => undefined,
      noHostCalls,
      (sandbox) => Promise.resolve(sandbox.load(source))
    )
    return outcome instanceof Failure
      ? { ok: false, message: outcome.message, line: outcome.position.line, column: outcome.position.column }
      : { ok: true }
  }

  private async runNow(job: RunJob, source: string, host: HostHandler): Promise<EngineResult> {
    const started = Date.now()
    const logs = new LogCapture(started, this.limits.maxLogBytes)
    const key = this.limits.warmScripts > 0 ? job.key : undefined
    const outcome = await this.inSandbox(key, started + job.timeoutMs, logs.add, host, async (sandbox, fresh) => {
      const loaded = fresh ? sandbox.load(source) : undefined
      if (loaded) return loaded
      const described = await sandbox.call(job.request, job.ctx)
      if (described instanceof Failure) return described
      const response = toResponse(described, this.limits.maxResponseBytes)
      if (response instanceof Error) {
        return new Failure(
          response.name === "ResponseTooLarge" ? "ResponseTooLarge" : "InvalidResponse",
          response.message
        )
      }
      return response
    })
    const durationMs = Date.now() - started
    if (outcome instanceof Failure) {
      return {
        ok: false,
        reason: outcome.reason,
        message: outcome.message,
        logs: logs.entries,
        logsTruncated: logs.truncated,
        durationMs
      }
    }
    return { ok: true, response: { ...outcome, logs: logs.entries, logsTruncated: logs.truncated, durationMs } }
  }

  /**
   * Runs `body` in an idle warm sandbox for `key` (or a new one, kept warm afterwards unless `key`
   * is undefined); the sandbox is out of the warm set while it runs. A failure that hit a limit
   * discards the sandbox; after a memory or stack limit, or a host exception, or with host calls
   * still out, it is dropped without freeing anything inside it (its allocator may be left
   * inconsistent): its instance and memory go with it, and no other sandbox is touched.
   */
  private async inSandbox<A>(
    key: string | undefined,
    deadline: number,
    log: (level: LogLevel, message: string) => void,
    host: HostHandler,
    body: (sandbox: Sandbox, fresh: boolean) => Promise<A | Failure>
  ): Promise<A | Failure> {
    let sandbox = key === undefined ? undefined : this.takeWarm(key)
    const fresh = sandbox === undefined
    if (sandbox === undefined) {
      try {
        sandbox = await Sandbox.make(this.code, { memoryMb: this.limits.memoryMb, stackBytes: this.limits.stackBytes })
      } catch (fault) {
        return new Failure("Crashed", `the sandbox could not be created: ${messageOf(fault)}`)
      }
    }
    let outcome: A | Failure
    try {
      sandbox.prepare(deadline, log, host, this.limits.maxHostCalls)
      outcome = await body(sandbox, fresh)
    } catch (fault) {
      this.discard(key, sandbox, false)
      const message = messageOf(fault)
      // A WebAssembly trap with the sandbox's memory (nearly) all used is the script's memory limit:
      // QuickJS's allocator fails in ways it cannot always turn into a guest error.
      return sandbox.memoryExhausted() || /memory|grow|alloc/i.test(message)
        ? new Failure("MemoryLimit", `the script exceeded its memory limit (${message})`)
        : new Failure("Crashed", `the sandbox failed: ${message}`)
    }
    sandbox.prepare(0, () => undefined)
    if (outcome instanceof Failure && isLimitHit(outcome)) {
      this.discard(key, sandbox, outcome.reason === "Timeout" && sandbox.idle)
    } else if (key !== undefined && sandbox.loaded && sandbox.idle) {
      // A script's own error (a throw, an invalid response) leaves its sandbox as the script made it.
      this.keepWarm(key, sandbox)
    } else {
      this.discard(key, sandbox, sandbox.idle)
    }
    return outcome
  }

  /** An idle warm sandbox of `key`, taken out of the warm set while it runs. */
  private takeWarm(key: string): Sandbox | undefined {
    const idle = this.warm.get(key)
    const sandbox = idle?.pop()
    if (idle?.length === 0) this.warm.delete(key)
    return sandbox
  }

  /** Returns the sandbox to the warm set, its version most recently used, then evicts the least recently used past either limit. */
  private keepWarm(key: string, sandbox: Sandbox) {
    const idle = this.warm.get(key) ?? []
    this.warm.delete(key)
    this.warm.set(key, [...idle, sandbox])
    const budget = this.limits.warmMemoryMb * 1024 * 1024
    while (this.warmCount > this.limits.warmScripts || this.warmMemoryBytes > budget) {
      const [oldestKey, oldest] = this.warm.entries().next().value!
      this.discard(oldestKey, oldest[0]!, true)
    }
  }

  /** Takes the sandbox out of the warm set, and frees what it holds if `free` (else it is just dropped). */
  private discard(key: string | undefined, sandbox: Sandbox, free: boolean) {
    const idle = key === undefined ? undefined : this.warm.get(key)
    if (idle?.includes(sandbox)) {
      const rest = idle.filter((s) => s !== sandbox)
      if (rest.length === 0) this.warm.delete(key!)
      else this.warm.set(key!, rest)
    }
    if (sandbox.memoryBytes >= RECLAIM_AT_BYTES) this.reclaimSoon()
    if (!free) return sandbox.abandon()
    try {
      sandbox.dispose()
    } catch {
      // Nothing to do: its instance and memory are dropped with it all the same.
    }
  }

  /**
   * A dropped sandbox's WebAssembly memory is the OS's again only once V8 collects its instance,
   * and a thread that then sits idle may not collect for a long time: after a big one is dropped
   * (a memory bomb, an evicted sandbox that had grown), a full collection runs once the current
   * turn is done, where the process exposes one (`--expose-gc`, `NODE_FLAGS`).
   */
  private reclaimSoon() {
    const collect = (globalThis as { gc?: () => void }).gc
    if (collect === undefined || this.reclaiming) return
    this.reclaiming = true
    setImmediate(() => {
      this.reclaiming = false
      collect()
    })
  }
}

/** A dropped sandbox with at least this much memory is worth a collection (`reclaimSoon`). */
const RECLAIM_AT_BYTES = 32 * 1024 * 1024

const messageOf = (fault: unknown) => (fault instanceof Error ? fault.message : String(fault))
