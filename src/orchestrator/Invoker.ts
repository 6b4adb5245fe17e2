import { Clock, Context, Data, Effect, Layer } from "effect"
import { type ExecError, execErrorCode, execErrorStatus, type ExecRequest, type ExecResponse, type ScriptHttpRequest } from "../domain/Exec.ts"
import type { Invocation } from "../domain/Execution.ts"
import type { Principal } from "../domain/Identity.ts"
import { AppEnv } from "../domain/Secret.ts"
import type { PersistenceError } from "../domain/Errors.ts"
import { ExecutionLog } from "../domain/ExecutionLog.ts"
import { Executor } from "../domain/Executor.ts"
import type { ExecutionId, ScriptId } from "../domain/Ids.ts"
import type { ResolvedScript } from "./ScriptCache.ts"
import { uuidv7 } from "../domain/uuidv7.ts"

/** What started an execution, and what it carries to the handler. */
export interface InvocationInput {
  readonly invocation: Invocation
  readonly request: ScriptHttpRequest | null
  readonly event?: unknown
  /** Who the execution runs as (scripts see it as `ctx.principal`), or `null` for nobody. */
  readonly principal: Principal | null
}

/** An execution that ended without a response; `executionId` names its record. */
export class InvocationFailed extends Data.TaggedError("InvocationFailed")<{
  readonly executionId: ExecutionId
  readonly error: ExecError
}> {}

/**
 * Runs one execution of a script and records it. Sync HTTP and (later) the dispatcher go through
 * here, so every execution gets the same request shape and the same record, whatever started it.
 */
export class Invoker extends Context.Service<Invoker, {
  readonly invoke: (
    target: ResolvedScript,
    input: InvocationInput
  ) => Effect.Effect<{ readonly executionId: ExecutionId; readonly response: ExecResponse }, InvocationFailed | PersistenceError>
}>()("picloud/orchestrator/Invoker") {
  static readonly layer = Layer.effect(
    Invoker,
    Effect.gen(function*() {
      const executor = yield* Executor
      const log = yield* ExecutionLog
      const appEnv = yield* AppEnv

      const invoke = Effect.fnUntraced(function*({ script, app }: ResolvedScript, input: InvocationInput) {
        const executionId = uuidv7() as ExecutionId
        const startedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
        const request: ExecRequest = {
          executionId,
          rootExecutionId: executionId,
          triggerDepth: 0,
          invocation: input.invocation,
          script: { id: script.id, name: script.name, version: script.version, source: script.source },
          app: { id: app.id, name: app.name },
          principal: input.principal === null
            ? null
            : { user_id: input.principal.user_id, username: input.principal.username, role: input.principal.role },
          event: input.event ?? null,
          env: yield* appEnv.forApp(app.id),
          request: input.request,
          timeoutMs: script.timeout_seconds * 1000
        }
        const base = {
          id: executionId,
          app_id: app.id,
          script_id: script.id as ScriptId,
          script_name: script.name,
          script_version: script.version,
          invocation: input.invocation,
          started_at: startedAt
        }
        return yield* executor.execute(request).pipe(
          Effect.tap((response) =>
            log.record({
              ...base,
              status: "succeeded",
              status_code: response.statusCode,
              duration_ms: response.durationMs,
              logs: response.logs,
              logs_truncated: response.logsTruncated,
              error: null
            })
          ),
          Effect.tapError((error) =>
            log.record({
              ...base,
              status: "failed",
              status_code: execErrorStatus[error.reason],
              duration_ms: error.durationMs,
              logs: error.logs,
              logs_truncated: error.logsTruncated,
              error: { code: execErrorCode[error.reason], message: error.message }
            })
          ),
          Effect.map((response) => ({ executionId, response })),
          Effect.mapError((error) => new InvocationFailed({ executionId, error }))
        )
      })
      return Invoker.of({ invoke })
    })
  )
}
