import { Effect } from "effect"
import { ScriptInvalid } from "../domain/Errors.ts"
import { ExecError } from "../domain/Exec.ts"
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
