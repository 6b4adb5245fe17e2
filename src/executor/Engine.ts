import releaseSync from "@jitl/quickjs-wasmfile-release-sync"
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from "quickjs-emscripten-core"
import type { ExecErrorReason, ExecRequest, ExecResponse } from "../domain/Exec.ts"
import type { LogEntry, LogLevel } from "../domain/Execution.ts"
import { Failure, isLimitHit } from "./guestErrors.ts"
import { Sandbox } from "./Sandbox.ts"
import { toResponse } from "./toResponse.ts"

/** Per-execution limits the engine enforces (ARCHITECTURE §4). */
export interface EngineLimits {
  /** Hard cap of the WebAssembly memory every sandbox of this engine shares. */
  readonly memoryMb: number
  /** Guest stack; on the main thread keep it <= 256 KiB (a larger one overflows the host stack). */
  readonly stackBytes: number
  readonly maxLogBytes: number
  readonly maxResponseBytes: number
  /** Warm sandboxes kept (one per script version, least recently used evicted); 0: a fresh one every time. */
  readonly warmScripts: number
}

export const defaultLimits: EngineLimits = {
  memoryMb: 64,
  stackBytes: 256 * 1024,
  maxLogBytes: 64 * 1024,
  maxResponseBytes: 1024 * 1024,
  warmScripts: 16
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

// The package's types describe its CommonJS build (a namespace holding `default`); Node's ESM loader
// hands us the variant itself.
const RELEASE_SYNC: QuickJSSyncVariant =
  (releaseSync as { default?: QuickJSSyncVariant }).default ?? (releaseSync as unknown as QuickJSSyncVariant)

const pages = (mb: number) => Math.ceil((mb * 1024 * 1024) / 65536)

interface LoadedModule {
  readonly quickjs: QuickJSWASMModule
  readonly memory: WebAssembly.Memory
  readonly maxBytes: number
}

/** A QuickJS module with its own capped WebAssembly memory: `rt.setMemoryLimit` alone does not hold. */
const loadModule = async (memoryMb: number): Promise<LoadedModule> => {
  const memory = new WebAssembly.Memory({ initial: pages(Math.min(16, memoryMb)), maximum: pages(memoryMb) })
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }))
  return { quickjs, memory, maxBytes: pages(memoryMb) * 65536 }
}

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
 * and is thrown away after any limit hit. All sandboxes share one WebAssembly module and its memory
 * cap; after a memory or stack limit, or a host fault, the whole module is replaced. Synchronous
 * and free of Effect, so a worker thread hosts it unchanged.
 */
export class Engine {
  readonly limits: EngineLimits
  private module: LoadedModule | undefined
  /** Warm sandboxes by `scriptId@version`, least recently used first. */
  private readonly warm = new Map<string, Sandbox>()

  private constructor(limits: EngineLimits, module: LoadedModule) {
    this.limits = limits
    this.module = module
  }

  static async make(limits: EngineLimits = defaultLimits): Promise<Engine> {
    return new Engine(limits, await loadModule(limits.memoryMb))
  }

  /**
   * Evaluates the module in a throwaway sandbox (top-level code runs, sandboxed, for at most
   * 250 ms) and checks it has a default export function. A syntax error comes with line and column.
   * (QuickJS's compile-only mode is not used: freeing its result corrupts the module's memory.)
   */
  async validate(source: string): Promise<ValidationResult> {
    const outcome = await this.inSandbox(undefined, Date.now() + VALIDATE_DEADLINE_MS, () => undefined, (sandbox) => sandbox.load(source))
    return outcome instanceof Failure
      ? { ok: false, message: outcome.message, line: outcome.position.line, column: outcome.position.column }
      : { ok: true }
  }

  async run(request: ExecRequest): Promise<EngineResult> {
    const started = Date.now()
    const logs = new LogCapture(started, this.limits.maxLogBytes)
    const key = this.limits.warmScripts > 0 ? `${request.script.id}@${request.script.version}` : undefined
    const outcome = await this.inSandbox(key, started + request.timeoutMs, logs.add, (sandbox, fresh) => {
      const loaded = fresh ? sandbox.load(request.script.source) : undefined
      if (loaded) return loaded
      const described = sandbox.call(request)
      if (described instanceof Failure) return described
      const response = toResponse(described, this.limits.maxResponseBytes)
      if (response instanceof Error) {
        return new Failure(response.name === "ResponseTooLarge" ? "ResponseTooLarge" : "InvalidResponse", response.message)
      }
      return response
    })
    const durationMs = Date.now() - started
    if (outcome instanceof Failure) {
      return { ok: false, reason: outcome.reason, message: outcome.message, logs: logs.entries, logsTruncated: logs.truncated, durationMs }
    }
    return { ok: true, response: { ...outcome, logs: logs.entries, logsTruncated: logs.truncated, durationMs } }
  }

  /**
   * Runs `body` in the warm sandbox for `key` (or a new one, kept warm afterwards unless `key` is
   * undefined). A failure that hit a limit discards the sandbox; a memory or stack limit, or a host
   * exception, discards the whole WebAssembly module, whose allocator may be left inconsistent.
   */
  private async inSandbox<A>(
    key: string | undefined,
    deadline: number,
    log: (level: LogLevel, message: string) => void,
    body: (sandbox: Sandbox, fresh: boolean) => A | Failure
  ): Promise<A | Failure> {
    this.module ??= await loadModule(this.limits.memoryMb)
    const module = this.module
    let sandbox = key === undefined ? undefined : this.warm.get(key)
    const fresh = sandbox === undefined
    let outcome: A | Failure
    try {
      sandbox ??= new Sandbox(module.quickjs, {
        stackBytes: this.limits.stackBytes,
        memoryBytes: this.limits.memoryMb * 1024 * 1024,
        memoryExhausted: () => module.memory.buffer.byteLength >= module.maxBytes * 0.9
      })
      sandbox.prepare(deadline, log)
      outcome = body(sandbox, fresh)
    } catch (fault) {
      const message = fault instanceof Error ? fault.message : String(fault)
      // A WebAssembly trap with the module's memory (nearly) all used is the script's memory limit:
      // QuickJS's allocator fails in ways it cannot always turn into a guest error.
      const exhausted = module.memory.buffer.byteLength >= module.maxBytes * 0.9
      this.dropModule()
      return exhausted || /memory|grow|alloc/i.test(message)
        ? new Failure("MemoryLimit", `the script exceeded its memory limit (${message})`)
        : new Failure("Crashed", `the sandbox failed: ${message}`)
    }
    sandbox.prepare(0, () => undefined)
    if (outcome instanceof Failure && (outcome.reason === "MemoryLimit" || outcome.reason === "StackLimit")) {
      this.dropModule()
    } else if (key !== undefined && sandbox.loaded && !(outcome instanceof Failure && isLimitHit(outcome))) {
      // A script's own error (a throw, an invalid response) leaves its sandbox as the script made it.
      this.keepWarm(key, sandbox)
    } else {
      this.discard(key, sandbox)
    }
    return outcome
  }

  private keepWarm(key: string, sandbox: Sandbox) {
    this.warm.delete(key)
    this.warm.set(key, sandbox)
    while (this.warm.size > this.limits.warmScripts) {
      const [oldestKey, oldest] = this.warm.entries().next().value!
      this.discard(oldestKey, oldest)
    }
  }

  private discard(key: string | undefined, sandbox: Sandbox) {
    if (key !== undefined && this.warm.get(key) === sandbox) this.warm.delete(key)
    try {
      sandbox.dispose()
    } catch {
      this.dropModule()
    }
  }

  /** Forgets the module and every sandbox in it (not freed: its memory may be inconsistent). */
  private dropModule() {
    this.warm.clear()
    this.module = undefined
  }
}
