import { type Context, Effect } from "effect"
import { ScriptInvalid } from "../domain/Errors.ts"
import { ExecError } from "../domain/Exec.ts"
import { type HostCalls, type HostHandler, type HostReply, noHostCalls } from "../domain/HostCall.ts"
import type { EngineResult, ValidationResult } from "./Engine.ts"

/** The engine's plain results as Effect outcomes; every Executor layer shares these two mappings. */
export const fromEngineResult = (result: EngineResult) =>
  result.ok
    ? Effect.succeed(result.response)
    : Effect.fail(
      new ExecError({
        reason: result.reason,
        message: result.message,
        logs: result.logs,
        logsTruncated: result.logsTruncated,
        durationMs: result.durationMs
      })
    )

export const fromValidationResult = (result: ValidationResult) =>
  result.ok
    ? Effect.void
    : Effect.fail(new ScriptInvalid({ message: result.message, line: result.line, column: result.column }))

/** An execution's host calls as the engine takes them: promises of plain replies, run in `context`. */
export const hostHandler = (host: HostCalls | undefined, context: Context.Context<never>): HostHandler =>
  host === undefined ? noHostCalls : (op, payload) =>
    Effect.runPromiseWith(context)(
      host(op, payload).pipe(
        Effect.match({
          onSuccess: (value): HostReply => ({ ok: true, value }),
          onFailure: (error): HostReply => ({ ok: false, kind: error.kind, message: error.message })
        })
      )
    )
