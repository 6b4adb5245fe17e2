import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core"
import type { ExecErrorReason } from "../domain/Exec.ts"
import { NATIVE_FRAME, OWN_FRAME } from "./guest/prelude.ts"

/** Why an execution (or a validation) did not produce a result, before it becomes an `ExecError`. */
export class Failure {
  readonly reason: ExecErrorReason
  readonly message: string
  /** Where in the source, for compile errors. */
  readonly position: { readonly line: number | null; readonly column: number | null }
  constructor(reason: ExecErrorReason, message: string, position: Failure["position"] = { line: null, column: null }) {
    this.reason = reason
    this.message = message
    this.position = position
  }
}

export interface GuestError {
  readonly name: string
  readonly message: string
  readonly stack: string
}

const ownFrame = new RegExp(OWN_FRAME)
const nativeFrame = new RegExp(NATIVE_FRAME)

/**
 * The frames of a guest stack a caller may see: the script's own and the built-ins it called, or
 * none if it holds no frame of the script's (an error of the prelude's own making). The prelude
 * filters what it logs by the same rule.
 */
const scriptFrames = (stack: string): string => {
  const kept = stack.split("\n").filter((line) => ownFrame.test(line) || nativeFrame.test(line))
  return kept.some((line) => ownFrame.test(line)) ? kept.join("\n") : ""
}

/**
 * Reads a thrown guest value as name/message/stack (the script's frames only), whatever was thrown. QuickJS throws a bare
 * `null` when it cannot even allocate its out-of-memory error: `memoryExhausted` tells that case
 * from a script that threw `null` itself.
 */
export const readError = (ctx: QuickJSContext, handle: QuickJSHandle, memoryExhausted: () => boolean): GuestError => {
  const dumped: unknown = ctx.dump(handle)
  handle.dispose()
  if (dumped === null && memoryExhausted()) return { name: "InternalError", message: "out of memory", stack: "" }
  if (dumped !== null && typeof dumped === "object") {
    const e = dumped as Record<string, unknown>
    return {
      name: String(e.name ?? "Error"),
      message: String(e.message ?? ""),
      stack: scriptFrames(String(e.stack ?? ""))
    }
  }
  return { name: "Error", message: String(dumped), stack: "" }
}

const isOutOfMemory = (e: GuestError) =>
  e.name !== "SyntaxError" && /out of memory|string too long|invalid array length|allocation failed/i.test(e.message)

/** Maps what the guest threw to a failure reason: limits first, then the script's own errors. */
export const classify = (e: GuestError, timedOut: boolean): Failure => {
  if (timedOut || (e.name === "InternalError" && e.message === "interrupted")) {
    return new Failure("Timeout", "the script ran past its timeout")
  }
  if (/stack overflow|too much recursion/i.test(e.message)) {
    return new Failure("StackLimit", "the script exceeded its stack limit")
  }
  if (isOutOfMemory(e)) return new Failure("MemoryLimit", `the script exceeded its memory limit (${e.message})`)
  const where = e.stack.trim() ? `\n${e.stack.trimEnd()}` : ""
  return new Failure("ScriptThrew", `${e.name}: ${e.message}${where}`)
}

/** A module that does not load: a syntax error or an import is a CompileError, with line and column. */
export const compileFailure = (e: GuestError): Failure => {
  if (/could not load module/.test(e.message)) {
    return new Failure("CompileError", `imports are not available in scripts (${e.message})`)
  }
  if (e.name !== "SyntaxError") return classify(e, false)
  const match = /script\.mjs:(\d+):(\d+)/.exec(e.stack)
  return new Failure(
    "CompileError",
    `${e.name}: ${e.message}`,
    match ? { line: Number(match[1]), column: Number(match[2]) } : { line: null, column: null }
  )
}

/** Limits that leave the sandbox in a state not worth keeping (or not safe to free). */
export const isLimitHit = (failure: Failure) =>
  failure.reason === "Timeout" || failure.reason === "MemoryLimit" || failure.reason === "StackLimit" ||
  failure.reason === "Crashed"
