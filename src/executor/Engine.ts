import releaseSync from "@jitl/quickjs-wasmfile-release-sync"
import {
  newQuickJSWASMModuleFromVariant,
  type QuickJSSyncVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule
} from "quickjs-emscripten-core"
import type { ExecErrorReason, ExecRequest, ExecResponse } from "../domain/Exec.ts"
import type { LogEntry, LogLevel } from "../domain/Execution.ts"
import { PRELUDE } from "./guest/prelude.ts"
import { toResponse } from "./toResponse.ts"

/** Per-execution limits the engine enforces (ARCHITECTURE §4). */
export interface EngineLimits {
  /** Hard cap of the WebAssembly memory every execution of this engine shares. */
  readonly memoryMb: number
  /** Guest stack; on the main thread keep it <= 256 KiB (a larger one overflows the host stack). */
  readonly stackBytes: number
  readonly maxLogBytes: number
  readonly maxResponseBytes: number
}

export const defaultLimits: EngineLimits = {
  memoryMb: 64,
  stackBytes: 256 * 1024,
  maxLogBytes: 64 * 1024,
  maxResponseBytes: 1024 * 1024
}

/** Plain data, so it crosses a worker boundary as it is. */
export type EngineResult =
  | { readonly ok: true; readonly response: ExecResponse }
  | { readonly ok: false; readonly reason: ExecErrorReason; readonly message: string; readonly logs: ReadonlyArray<LogEntry>; readonly logsTruncated: boolean; readonly durationMs: number }

export type ValidationResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly message: string; readonly line: number | null; readonly column: number | null }

const FILENAME = "script.mjs"
const VALIDATE_DEADLINE_MS = 250
const LEVELS: ReadonlySet<string> = new Set(["log", "info", "warn", "error", "debug"])

class Failure {
  readonly reason: ExecErrorReason
  readonly message: string
  /** Where in the source, for compile errors. */
  readonly position: { readonly line: number | null; readonly column: number | null }
  constructor(reason: ExecErrorReason, message: string, position = { line: null as number | null, column: null as number | null }) {
    this.reason = reason
    this.message = message
    this.position = position
  }
}

interface GuestError {
  readonly name: string
  readonly message: string
  readonly stack: string
}

// The package's types describe its CommonJS build (a namespace holding `default`); Node's ESM loader
// hands us the variant itself.
const RELEASE_SYNC: QuickJSSyncVariant =
  (releaseSync as { default?: QuickJSSyncVariant }).default ?? (releaseSync as unknown as QuickJSSyncVariant)

const isFailure = (result: unknown): result is { readonly reason: ExecErrorReason } =>
  result !== null && typeof result === "object" && "reason" in result

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

/** QuickJS throws a bare `null` when it cannot even allocate the out-of-memory error. */
const exhausted = (module: LoadedModule) => module.memory.buffer.byteLength >= module.maxBytes * 0.9

/** Reads a thrown guest value as name/message/stack, whatever was thrown. */
const readError = (ctx: QuickJSContext, handle: QuickJSHandle, module: LoadedModule | undefined): GuestError => {
  const dumped: unknown = ctx.dump(handle)
  if (dumped === null && module !== undefined && exhausted(module)) {
    return { name: "InternalError", message: "out of memory", stack: "" }
  }
  if (dumped !== null && typeof dumped === "object") {
    const e = dumped as Record<string, unknown>
    return { name: String(e.name ?? "Error"), message: String(e.message ?? ""), stack: String(e.stack ?? "") }
  }
  return { name: "Error", message: String(dumped), stack: "" }
}

const isOutOfMemory = (e: GuestError) =>
  /out of memory|string too long|invalid array length|allocation failed/i.test(e.message) && e.name !== "SyntaxError"

/** Maps what the guest threw to a failure reason: limits first, then the script's own errors. */
const classify = (e: GuestError, timedOut: boolean): Failure => {
  if (timedOut || (e.name === "InternalError" && e.message === "interrupted")) {
    return new Failure("Timeout", "the script ran past its timeout")
  }
  if (/stack overflow|too much recursion/i.test(e.message)) return new Failure("StackLimit", "the script exceeded its stack limit")
  if (isOutOfMemory(e)) return new Failure("MemoryLimit", `the script exceeded its memory limit (${e.message})`)
  const where = e.stack.trim() ? `\n${e.stack.trimEnd()}` : ""
  return new Failure("ScriptThrew", `${e.name}: ${e.message}${where}`)
}

const position = (e: GuestError) => {
  const match = /script\.mjs:(\d+):(\d+)/.exec(e.stack)
  return match ? { line: Number(match[1]), column: Number(match[2]) } : { line: null, column: null }
}

const compileMessage = (e: GuestError) =>
  /could not load module/.test(e.message)
    ? `imports are not available in scripts (${e.message})`
    : `${e.name}: ${e.message}`

/**
 * The QuickJS sandbox. Every execution gets a fresh runtime and context (nothing survives between
 * executions); the WebAssembly module, and its memory cap, is shared and replaced if a fault leaves
 * it unusable. Synchronous and free of Effect, so a worker thread can host it unchanged.
 */
export class Engine {
  readonly limits: EngineLimits
  private module: LoadedModule | undefined

  private constructor(limits: EngineLimits, module: LoadedModule) {
    this.limits = limits
    this.module = module
  }

  static async make(limits: EngineLimits = defaultLimits): Promise<Engine> {
    return new Engine(limits, await loadModule(limits.memoryMb))
  }

  /**
   * Evaluates the module in a throwaway context (top-level code runs, sandboxed, for at most
   * 250 ms; QuickJS's compile-only mode corrupts the module's memory when its result is freed) and
   * checks that it has a default export function. A syntax error comes with line and column.
   */
  async validate(source: string): Promise<ValidationResult> {
    return this.withContext(Date.now() + VALIDATE_DEADLINE_MS, undefined, ({ ctx }) => {
      const handler = this.loadHandler(ctx)(source)
      if (handler instanceof Failure) return { ok: false, message: handler.message, ...handler.position }
      handler.dispose()
      return { ok: true }
    }, (failure) => ({ ok: false, message: failure.message, line: null, column: null }))
  }

  async run(request: ExecRequest): Promise<EngineResult> {
    const started = Date.now()
    const logs: Array<LogEntry> = []
    let logBytes = 0
    let logsTruncated = false
    const log = (level: LogLevel, message: string) => {
      if (logsTruncated) return
      const room = this.limits.maxLogBytes - logBytes
      if (message.length > room) {
        logsTruncated = true
        if (room > 0) logs.push({ level, message: message.slice(0, room), at: Date.now() - started })
        logBytes = this.limits.maxLogBytes
        return
      }
      logBytes += message.length
      logs.push({ level, message, at: Date.now() - started })
    }
    const fail = (failure: Failure): EngineResult => ({
      ok: false,
      reason: failure.reason,
      message: failure.message,
      logs,
      logsTruncated,
      durationMs: Date.now() - started
    })

    return this.withContext(started + request.timeoutMs, log, ({ ctx, rt, timedOut }) => {
      const handler = this.loadHandler(ctx)(request.script.source)
      if (handler instanceof Failure) return fail(handler)
      const described = this.callHandler(ctx, rt, handler, request, timedOut)
      handler.dispose()
      if (described instanceof Failure) return fail(described)
      const response = toResponse(described, this.limits.maxResponseBytes)
      if (response instanceof Error) return fail(new Failure(response.name === "ResponseTooLarge" ? "ResponseTooLarge" : "InvalidResponse", response.message))
      return { ok: true, response: { ...response, logs, logsTruncated, durationMs: Date.now() - started } }
    }, fail)
  }

  /**
   * Runs `body` in a fresh runtime + context with the prelude installed, and disposes both. A host
   * exception (the WebAssembly module aborted or ran out of memory outside the guest's reach)
   * poisons the module: it is dropped and a new one is loaded for the next execution.
   */
  private async withContext<A>(
    deadline: number,
    log: ((level: LogLevel, message: string) => void) | undefined,
    body: (scope: { ctx: QuickJSContext; rt: QuickJSRuntime; timedOut: () => boolean }) => A,
    onFault: (failure: Failure) => A
  ): Promise<A> {
    this.module ??= await loadModule(this.limits.memoryMb)
    const module = this.module
    let rt: QuickJSRuntime | undefined
    let ctx: QuickJSContext | undefined
    let result: A | undefined
    try {
      rt = module.quickjs.newRuntime()
      rt.setMaxStackSize(this.limits.stackBytes)
      rt.setMemoryLimit(this.limits.memoryMb * 1024 * 1024)
      let interrupted = false
      rt.setInterruptHandler(() => (interrupted ||= Date.now() > deadline))
      rt.setModuleLoader((name) => ({ error: new Error(`could not load module '${name}'`) }))
      ctx = rt.newContext()
      this.installPrelude(ctx, log ?? (() => undefined))
      result = body({ ctx, rt, timedOut: () => interrupted || Date.now() > deadline })
      return result
    } catch (fault) {
      this.module = undefined
      const message = fault instanceof Error ? fault.message : String(fault)
      return onFault(
        /memory|grow|alloc/i.test(message)
          ? new Failure("MemoryLimit", `the script exceeded its memory limit (${message})`)
          : new Failure("Crashed", `the sandbox failed: ${message}`)
      )
    } finally {
      // After a memory or stack limit hit QuickJS's allocator may be left inconsistent: freeing can
      // abort, and later executions could fail in odd ways. Drop the whole module instead.
      const limitHit = isFailure(result) && (result.reason === "MemoryLimit" || result.reason === "StackLimit")
      if (limitHit || this.module === undefined) {
        this.module = undefined
      } else {
        try {
          ctx?.dispose()
          rt?.dispose()
        } catch {
          this.module = undefined
        }
      }
    }
  }

  private installPrelude(ctx: QuickJSContext, log: (level: LogLevel, message: string) => void) {
    const hostLog = ctx.newFunction("__picloud_log", (levelHandle, messageHandle) => {
      const level = ctx.getString(levelHandle)
      log(LEVELS.has(level) ? level as LogLevel : "log", ctx.getString(messageHandle))
    })
    ctx.setProp(ctx.global, "__picloud_log", hostLog)
    hostLog.dispose()
    const prelude = ctx.evalCode(PRELUDE, "prelude.js", { type: "global" })
    if (prelude.error) {
      const e = readError(ctx, prelude.error, this.module)
      prelude.error.dispose()
      throw new Error(`prelude failed: ${e.name}: ${e.message}`)
    }
    prelude.value.dispose()
  }

  /** Evaluates the module and returns its default export, which must be a function. */
  private loadHandler(ctx: QuickJSContext) {
    return (source: string): QuickJSHandle | Failure => {
      const evaluated = ctx.evalCode(source, FILENAME, { type: "module" })
      if (evaluated.error) {
        const e = readError(ctx, evaluated.error, this.module)
        evaluated.error.dispose()
        return e.name === "SyntaxError" || /could not load module/.test(e.message)
          ? new Failure("CompileError", compileMessage(e), position(e))
          : classify(e, false)
      }
      const exports = evaluated.value
      const handler = ctx.getProp(exports, "default")
      exports.dispose()
      if (ctx.typeof(handler) !== "function") {
        handler.dispose()
        return new Failure("NoDefaultExport", "the script has no default export function")
      }
      return handler
    }
  }

  /** Calls the handler through the prelude's runner and drives its promise to an end. */
  private callHandler(
    ctx: QuickJSContext,
    rt: QuickJSRuntime,
    handler: QuickJSHandle,
    request: ExecRequest,
    timedOut: () => boolean
  ): string | Failure {
    const runner = ctx.getProp(ctx.global, "__picloud_run")
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
    const called = ctx.callFunction(runner, ctx.undefined, handler, requestJson, ctxJson)
    runner.dispose()
    requestJson.dispose()
    ctxJson.dispose()
    if (called.error) {
      const e = readError(ctx, called.error, this.module)
      called.error.dispose()
      return classify(e, timedOut())
    }
    const promise = called.value
    try {
      for (;;) {
        const state = ctx.getPromiseState(promise)
        if (state.type === "fulfilled") {
          const text = ctx.typeof(state.value) === "string" ? ctx.getString(state.value) : null
          state.value.dispose()
          return text ?? new Failure("Crashed", "the runner returned no description")
        }
        if (state.type === "rejected") {
          const e = readError(ctx, state.error, this.module)
          state.error.dispose()
          return classify(e, timedOut())
        }
        const jobs = rt.executePendingJobs()
        if (jobs.error) {
          const e = readError(ctx, jobs.error, this.module)
          jobs.error.dispose()
          return classify(e, timedOut())
        }
        // Nothing left to run and still pending: no timer or I/O exists that could ever settle it.
        if (jobs.value === 0) return new Failure("Timeout", "the script's promise never settled (nothing left that could settle it)")
      }
    } finally {
      promise.dispose()
    }
  }
}
