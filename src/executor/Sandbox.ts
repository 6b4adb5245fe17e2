import { randomFillSync } from "node:crypto"
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten-core"
import type { ExecRequest } from "../domain/Exec.ts"
import type { LogLevel } from "../domain/Execution.ts"
import { MAX_RANDOM_BYTES, PRELUDE } from "./guest/prelude.ts"
import { classify, compileFailure, Failure, readError } from "./guestErrors.ts"
import { instantiateQuickJS, type QuickJSInstance } from "./quickjsInstance.ts"

const FILENAME = "script.mjs"
const LEVELS: ReadonlySet<string> = new Set(["log", "info", "warn", "error", "debug"])
const noLog = () => undefined

export interface SandboxOptions {
  /** The cap of the sandbox's own WebAssembly memory. */
  readonly memoryMb: number
  readonly stackBytes: number
}

/**
 * One QuickJS instance (its own WebAssembly memory, so its own memory budget), runtime and context
 * with the prelude installed and, once `load`ed, one script's handler. Between calls it keeps the
 * script's module scope (a warm sandbox); the deadline and the console's destination are set anew
 * for every call. Owns its handles: `dispose` frees them all. A sandbox whose heap may be
 * inconsistent (a trap, a memory or stack limit) is not disposed but dropped: its instance and
 * memory go with it.
 */
export class Sandbox {
  private readonly instance: QuickJSInstance
  private readonly rt: QuickJSRuntime
  private readonly ctx: QuickJSContext
  private readonly runner: QuickJSHandle
  private handler: QuickJSHandle | undefined
  private deadline = 0
  private interrupted = false
  private log: (level: LogLevel, message: string) => void = noLog

  static async make(code: WebAssembly.Module, options: SandboxOptions): Promise<Sandbox> {
    return new Sandbox(await instantiateQuickJS(code, options.memoryMb), options)
  }

  private constructor(instance: QuickJSInstance, options: SandboxOptions) {
    this.instance = instance
    this.rt = instance.quickjs.newRuntime()
    this.rt.setMaxStackSize(options.stackBytes)
    this.rt.setMemoryLimit(instance.maxBytes)
    this.rt.setInterruptHandler(() => (this.interrupted ||= Date.now() > this.deadline))
    this.rt.setModuleLoader((name) => ({ error: new Error(`could not load module '${name}'`) }))
    this.ctx = this.rt.newContext()
    const hostLog = this.ctx.newFunction("__picloud_log", (levelHandle, messageHandle) => {
      const level = this.ctx.getString(levelHandle)
      this.log(LEVELS.has(level) ? level as LogLevel : "log", JSON.parse(this.ctx.getString(messageHandle)) as string)
    })
    this.ctx.setProp(this.ctx.global, "__picloud_log", hostLog)
    hostLog.dispose()
    const hostRandom = this.ctx.newFunction("__picloud_random", (sizeHandle) => {
      const size = this.ctx.getNumber(sizeHandle)
      if (!Number.isInteger(size) || size < 0 || size > MAX_RANDOM_BYTES) {
        throw new RangeError(`cannot give ${size} random bytes`)
      }
      return this.ctx.newArrayBuffer(randomFillSync(new Uint8Array(size)).buffer)
    })
    this.ctx.setProp(this.ctx.global, "__picloud_random", hostRandom)
    hostRandom.dispose()
    this.deadline = Date.now() + 1_000
    const prelude = this.ctx.evalCode(PRELUDE, "prelude.js", { type: "global" })
    if (prelude.error) {
      const e = readError(this.ctx, prelude.error, this.memoryExhausted)
      this.dispose()
      throw new Error(`prelude failed: ${e.name}: ${e.message}`)
    }
    this.runner = prelude.value
  }

  /** The size of its WebAssembly memory: what it holds, at most, of the host's. */
  get memoryBytes() {
    return this.instance.memory.buffer.byteLength
  }

  /** Whether its memory is (nearly) all used: see `readError`. */
  readonly memoryExhausted = () => this.memoryBytes >= this.instance.maxBytes * 0.9

  /** Sets the deadline (epoch ms) and the console's destination for what runs next. */
  prepare(deadline: number, log: (level: LogLevel, message: string) => void) {
    this.deadline = deadline
    this.interrupted = false
    this.log = log
  }

  /** Whether a handler is loaded (a sandbox whose module failed to load is not kept). */
  get loaded() {
    return this.handler !== undefined
  }

  /** Evaluates the script's module and keeps its default export, which must be a function. */
  load(source: string): Failure | undefined {
    const evaluated = this.ctx.evalCode(source, FILENAME, { type: "module" })
    if (evaluated.error) return compileFailure(readError(this.ctx, evaluated.error, this.memoryExhausted))
    const exports = evaluated.value
    const handler = this.ctx.getProp(exports, "default")
    exports.dispose()
    if (this.ctx.typeof(handler) !== "function") {
      handler.dispose()
      return new Failure("NoDefaultExport", "the script has no default export function")
    }
    this.handler = handler
    return undefined
  }

  /** Calls the loaded handler through the prelude's runner and drives its promise to an end. */
  call(request: ExecRequest): string | Failure {
    const { ctx, rt } = this
    const timedOut = () => this.interrupted || Date.now() > this.deadline
    const fail = (handle: QuickJSHandle) => classify(readError(ctx, handle, this.memoryExhausted), timedOut())
    const requestJson = request.request === null ? ctx.null : ctx.newString(JSON.stringify(request.request))
    const ctxJson = ctx.newString(JSON.stringify({
      executionId: request.executionId,
      rootExecutionId: request.rootExecutionId,
      triggerDepth: request.triggerDepth,
      invocation: request.invocation,
      script: { id: request.script.id, name: request.script.name, version: request.script.version },
      app: request.app,
      principal: request.principal,
      event: request.event,
      env: request.env
    }))
    const called = ctx.callFunction(this.runner, ctx.undefined, this.handler!, requestJson, ctxJson)
    requestJson.dispose()
    ctxJson.dispose()
    if (called.error) return fail(called.error)
    const promise = called.value
    try {
      for (;;) {
        const state = ctx.getPromiseState(promise)
        if (state.type === "fulfilled") {
          const text = ctx.typeof(state.value) === "string" ? ctx.getString(state.value) : null
          state.value.dispose()
          return text ?? new Failure("Crashed", "the runner returned no description")
        }
        if (state.type === "rejected") return fail(state.error)
        const jobs = rt.executePendingJobs()
        if (jobs.error) return fail(jobs.error)
        // Nothing left to run and still pending: no timer or I/O exists that could ever settle it.
        if (jobs.value === 0) {
          return new Failure("Timeout", "the script's promise never settled (nothing left that could settle it)")
        }
      }
    } finally {
      promise.dispose()
    }
  }

  dispose() {
    this.handler?.dispose()
    this.runner?.dispose()
    this.ctx.dispose()
    this.rt.dispose()
  }
}
