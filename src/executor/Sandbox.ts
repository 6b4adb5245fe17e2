import { randomFillSync } from "node:crypto"
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten-core"
import type { LogLevel } from "../domain/Execution.ts"
import { type HostHandler, type HostReply, noHostCalls } from "../domain/HostCall.ts"
import { MAX_RANDOM_BYTES, PRELUDE } from "./guest/prelude.ts"
import { classify, compileFailure, Failure, readError } from "./guestErrors.ts"
import { instantiateQuickJS, type QuickJSInstance } from "./quickjsInstance.ts"

const FILENAME = "script.mjs"
const messageOf = (fault: unknown) => (fault instanceof Error ? fault.message : String(fault))
const LEVELS: ReadonlySet<string> = new Set(["log", "info", "warn", "error", "debug"])
const noLog = () => undefined
const TIMED_OUT = "the script ran past its timeout"

export interface SandboxOptions {
  /** The cap of the sandbox's own WebAssembly memory. */
  readonly memoryMb: number
  readonly stackBytes: number
}

/**
 * One QuickJS instance (its own WebAssembly memory, so its own memory budget), runtime and context
 * with the prelude installed and, once `load`ed, one script's handler. Between calls it keeps the
 * script's module scope (a warm sandbox); the deadline, the console's destination and the host
 * calls' handler are set anew for every call, and it runs one call at a time. A host call (`kv.*`)
 * returns a guest promise that the handler's answer settles later: while it is out, `call` awaits,
 * and the thread is free to run other sandboxes. Owns its handles: `dispose` frees them all. A
 * sandbox whose heap may be inconsistent (a trap, a memory or stack limit) or that still has host
 * calls out is not disposed but dropped: its instance and memory go with it.
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
  private host: HostHandler = noHostCalls
  /** Host calls made and not answered yet. */
  private outstanding = 0
  /** Host calls the current execution may still send. */
  private callsLeft = 0
  /** Set while `call` waits for a host call's answer. */
  private wake: (() => void) | undefined
  private closed = false
  private loading = false

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
    const hostCall = this.ctx.newFunction("__picloud_host", (opHandle, payloadHandle) => {
      const op = this.ctx.getString(opHandle)
      // Thrown into the guest: what a module's top level sets up is shared by every later call.
      if (this.loading) throw new Error(`${op} can be called only while the handler runs`)
      if (this.callsLeft <= 0) {
        const error = new Error(`${op}: this execution made all the key-value calls it may (PICLOUD_KV_MAX_OPS)`)
        error.name = "KvLimitExceeded"
        throw error
      }
      this.callsLeft--
      const deferred = this.ctx.newPromise()
      this.outstanding++
      this.host(op, this.ctx.getString(payloadHandle))
        .catch((fault): HostReply => ({ ok: false, kind: "Error", message: `${op} failed: ${messageOf(fault)}` }))
        .then((reply) => {
          this.outstanding--
          if (!this.closed) this.settle(deferred, reply)
          this.wake?.()
        })
      // The function's scope takes (and frees) the promise's handle; the resolvers stay with `deferred`.
      return deferred.handle
    })
    this.ctx.setProp(this.ctx.global, "__picloud_host", hostCall)
    hostCall.dispose()
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

  /** Sets the deadline (epoch ms), the console's destination and the host calls' handler for what runs next. */
  prepare(
    deadline: number,
    log: (level: LogLevel, message: string) => void,
    host: HostHandler = noHostCalls,
    maxHostCalls = 0
  ) {
    this.deadline = deadline
    this.interrupted = false
    this.log = log
    this.host = host
    this.callsLeft = maxHostCalls
  }

  /** No host call is out: the sandbox can be freed, or run another call. */
  get idle() {
    return this.outstanding === 0
  }

  /** Settles the guest promise of a host call with its answer (the guest's jobs run on the next pump). */
  private settle(deferred: ReturnType<QuickJSContext["newPromise"]>, reply: HostReply) {
    const { ctx } = this
    try {
      const value = reply.ok ? ctx.newString(reply.value) : ctx.newError({ name: reply.kind, message: reply.message })
      if (reply.ok) deferred.resolve(value)
      else deferred.reject(value)
      value.dispose()
    } catch {
      // Past the deadline QuickJS refuses the call (interrupted): the wait times out instead.
    } finally {
      deferred.dispose()
    }
  }

  /** Waits until a host call is answered (`true`) or the deadline passes (`false`). */
  private answered(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined
        resolve(false)
      }, Math.max(0, this.deadline - Date.now()))
      this.wake = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve(true)
      }
    })
  }

  /** Whether a handler is loaded (a sandbox whose module failed to load is not kept). */
  get loaded() {
    return this.handler !== undefined
  }

  /** Evaluates the script's module and keeps its default export, which must be a function. Its top level cannot call the host. */
  load(source: string): Failure | undefined {
    this.loading = true
    const evaluated = this.ctx.evalCode(source, FILENAME, { type: "module" })
    this.loading = false
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

  /**
   * Calls the loaded handler with its two arguments (JSON: `request` or `null`, and `ctx`; see
   * `runJob`) through the prelude's runner and drives its promise to an end, then
   * waits for any host call the handler left out (so a `kv.set` it did not await still counts, and
   * no answer arrives in a later call). Between pumps it awaits host answers, until the deadline.
   */
  async call(request: string | null, context: string): Promise<string | Failure> {
    const { ctx, rt } = this
    const timedOut = () => this.interrupted || Date.now() > this.deadline
    const fail = (handle: QuickJSHandle) => classify(readError(ctx, handle, this.memoryExhausted), timedOut())
    const requestJson = request === null ? ctx.null : ctx.newString(request)
    const ctxJson = ctx.newString(context)
    const called = ctx.callFunction(this.runner, ctx.undefined, this.handler!, requestJson, ctxJson)
    requestJson.dispose()
    ctxJson.dispose()
    if (called.error) return fail(called.error)
    const promise = called.value
    let outcome: string | Failure | undefined
    try {
      for (;;) {
        if (outcome === undefined) {
          const state = ctx.getPromiseState(promise)
          if (state.type === "fulfilled") {
            const text = ctx.typeof(state.value) === "string" ? ctx.getString(state.value) : null
            state.value.dispose()
            outcome = text ?? new Failure("Crashed", "the runner returned no description")
          } else if (state.type === "rejected") {
            outcome = fail(state.error)
          }
        }
        const jobs = rt.executePendingJobs()
        if (jobs.error) {
          const failure = fail(jobs.error)
          // A late job's error matters only while the handler is still running, or if it is a limit.
          if (outcome === undefined || failure.reason !== "ScriptThrew") return failure
          continue
        }
        if (jobs.value > 0) continue
        if (this.outstanding === 0) {
          // Nothing left to run and still pending: no timer or I/O exists that could ever settle it.
          return outcome ??
            new Failure("Timeout", "the script's promise never settled (nothing left that could settle it)")
        }
        if (!(await this.answered())) return new Failure("Timeout", TIMED_OUT)
      }
    } finally {
      promise.dispose()
    }
  }

  /** Drops the sandbox without touching its heap: a host answer arriving later is ignored. */
  abandon() {
    this.closed = true
  }

  dispose() {
    this.closed = true
    this.handler?.dispose()
    this.runner?.dispose()
    this.ctx.dispose()
    this.rt.dispose()
  }
}
