import { Context, type Effect } from "effect"
import type { ScriptInvalid } from "./Errors.ts"
import type { ExecError, ExecRequest, ExecResponse } from "./Exec.ts"
import type { HostCalls } from "./HostCall.ts"

/**
 * Runs one execution in the sandbox. Callers do not know where it runs (same thread, a worker
 * thread, another process): every layer honours the same contract and the same typed errors. The
 * script's host calls (`kv.*`) are answered by `host` (without one, each is refused).
 */
export class Executor extends Context.Service<Executor, {
  readonly execute: (request: ExecRequest, host?: HostCalls) => Effect.Effect<ExecResponse, ExecError>
}>()("picloud/domain/Executor") {}

/** Compiles a source at upload time, so a broken script is refused with line and column. */
export class ScriptValidator extends Context.Service<ScriptValidator, {
  readonly validate: (source: string) => Effect.Effect<void, ScriptInvalid>
}>()("picloud/domain/ScriptValidator") {}
