import { Clock, Context, Data, Effect, Layer } from "effect"
import * as Settings from "../config/Settings.ts"
import { AppEnv } from "../domain/AppEnv.ts"
import type { PersistenceError } from "../domain/Errors.ts"
import {
  ExecError,
  execErrorCode,
  execErrorStatus,
  type ExecRequest,
  type ExecResponse,
  type ScriptHttpRequest
} from "../domain/Exec.ts"
import { type ExecutionRecord, type Invocation, type Lineage, rootLineage } from "../domain/Execution.ts"
import { ExecutionLog } from "../domain/ExecutionLog.ts"
import { Executor } from "../domain/Executor.ts"
import type { Principal } from "../domain/Identity.ts"
import type { ExecutionId, ScriptId } from "../domain/Ids.ts"
import { KvStore, type KvWrite, type KvWriteError } from "../domain/KvStore.ts"
import { uuidv7 } from "../domain/uuidv7.ts"
import { ExecutionTail } from "./ExecutionTail.ts"
import { KvCommit } from "./KvCommit.ts"
import { makeKvSession } from "./KvSession.ts"
import { PlatformMetrics } from "./PlatformMetrics.ts"
import type { ResolvedScript } from "./ScriptCache.ts"

/** What started an execution, and what it carries to the handler. */
export interface InvocationInput {
  readonly invocation: Invocation
  readonly request: ScriptHttpRequest | null
  readonly event?: unknown
  /** Who the execution runs as (scripts see it as `ctx.principal`), or `null` for nobody. */
  readonly principal: Principal | null
  /**
   * Where the execution sits in its causal chain (scripts see `ctx.rootExecutionId` and
   * `ctx.triggerDepth`); absent: a root, its own root at depth 0.
   */
  readonly lineage?: Lineage | undefined
  /** A `kv` execution's key: the key whose write started it (its record's `kv_key`). */
  readonly kvKey?: string | undefined
}

/** An accepted async execution's identity: its id, when it was accepted, which attempt this is. */
export interface AsyncAttempt {
  readonly executionId: ExecutionId
  readonly acceptedAt: string
  readonly attempt: number
}

/**
 * One run of a script: the record to keep, and the response or the error it ended with. A run that
 * responded carries its KV writes, not committed yet: whoever ends the execution commits them.
 */
export type Attempted =
  | {
    readonly _tag: "Responded"
    readonly record: ExecutionRecord
    readonly response: ExecResponse
    readonly writes: ReadonlyArray<KvWrite>
  }
  | { readonly _tag: "Failed"; readonly record: ExecutionRecord; readonly error: ExecError }

/**
 * A run that responded, but whose writes could not be committed (an `ifVersion` did not hold): it
 * failed with `kv_conflict`, and none of its writes was kept.
 */
export const commitFailed = (
  attempted: Extract<Attempted, { _tag: "Responded" }>,
  error: KvWriteError
): Extract<Attempted, { _tag: "Failed" }> => {
  const message = error._tag === "KvConflict"
    ? `kv: the key ${
      JSON.stringify(error.key)
    } was at version ${error.actual}, not ${error.expected} (ifVersion); none of the execution's writes was kept`
    : `kv: the execution's writes could not be kept: ${error._tag}`
  const reason = error._tag === "KvConflict" ? "KvConflict" : "Crashed"
  const { response, record } = attempted
  return {
    _tag: "Failed",
    error: new ExecError({
      reason,
      message,
      logs: response.logs,
      logsTruncated: response.logsTruncated,
      durationMs: response.durationMs
    }),
    record: {
      ...record,
      status: "failed",
      status_code: execErrorStatus[reason],
      error: { code: execErrorCode[reason], message },
      result: null
    }
  }
}

/** An execution that ended without a response; `executionId` names its record. */
export class InvocationFailed extends Data.TaggedError("InvocationFailed")<{
  readonly executionId: ExecutionId
  readonly error: ExecError
}> {}

/**
 * Runs executions of scripts. Sync HTTP and the dispatcher go through here, so every execution gets
 * the same request shape and the same record, whatever started it. `invoke` records the execution
 * itself (batched, off the hot path); `attempt` leaves the record to the caller (the dispatcher
 * writes it in the transaction that ends the outbox row).
 */
export class Invoker extends Context.Service<Invoker, {
  readonly invoke: (
    target: ResolvedScript,
    input: InvocationInput
  ) => Effect.Effect<
    { readonly executionId: ExecutionId; readonly response: ExecResponse },
    InvocationFailed | PersistenceError
  >
  readonly attempt: (
    target: ResolvedScript,
    input: InvocationInput,
    async: AsyncAttempt
  ) => Effect.Effect<Attempted, PersistenceError>
}>()("picloud/orchestrator/Invoker") {
  static readonly layer = Layer.effect(
    Invoker,
    Effect.gen(function*() {
      const executor = yield* Executor
      const log = yield* ExecutionLog
      const tail = yield* ExecutionTail
      const appEnv = yield* AppEnv
      const kvStore = yield* KvStore
      const kvCommit = yield* KvCommit
      const metrics = yield* PlatformMetrics
      const kvLimits = {
        maxOps: yield* Settings.kvMaxOpsPerExecution.config,
        maxPendingBytes: yield* Settings.kvMaxPendingBytes.config,
        maxValueBytes: yield* Settings.kvMaxValueBytes.config
      }

      /** A sync execution's record: queued for the log, then sent to live tails. */

      // Untraced: it runs on every request of the data plane, where a span per call is measurable cost.
      const run = Effect.fnUntraced(function*(
        { script, app }: ResolvedScript,
        input: InvocationInput,
        executionId: ExecutionId,
        async: AsyncAttempt | undefined
      ) {
        const startedMs = yield* Clock.currentTimeMillis
        const startedAt = new Date(startedMs).toISOString()
        const lineage = input.lineage ?? rootLineage(executionId)
        const request: ExecRequest = {
          executionId,
          rootExecutionId: lineage.root_execution_id,
          triggerDepth: lineage.trigger_depth,
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
          started_at: startedAt,
          accepted_at: async?.acceptedAt ?? null,
          attempts: async?.attempt ?? 1,
          ...lineage,
          kv_key: input.kvKey ?? null
        }
        const kv = makeKvSession(kvStore, app.id, kvLimits)
        // The KV calls it made, whatever its end (a failed run's writes are counted, not kept).
        const counted = () => {
          const { reads, writes } = kv.counts()
          return { kv_reads: reads, kv_writes: writes }
        }
        return yield* executor.execute(request, kv.calls).pipe(
          Effect.map((response): Attempted => ({
            _tag: "Responded",
            response,
            writes: kv.writes(),
            record: {
              ...base,
              ...counted(),
              status: "succeeded",
              status_code: response.statusCode,
              duration_ms: response.durationMs,
              logs: response.logs,
              logs_truncated: response.logsTruncated,
              error: null,
              // Only an async caller reads the response later; a sync one already has it.
              result: async === undefined
                ? null
                : { status: response.statusCode, headers: response.headers, body: response.body }
            }
          })),
          Effect.catch((error) =>
            Effect.succeed<Attempted>({
              _tag: "Failed",
              error,
              record: {
                ...base,
                ...counted(),
                status: "failed",
                status_code: execErrorStatus[error.reason],
                duration_ms: error.durationMs,
                logs: error.logs,
                logs_truncated: error.logsTruncated,
                error: { code: execErrorCode[error.reason], message: error.message },
                result: null
              }
            })
          ),
          // A sync caller that hangs up, or shutdown's grace period running out, interrupts the
          // execution: it still gets its record. (An async one is released and runs again.)
          Effect.onInterrupt(() =>
            async !== undefined ? Effect.void : Clock.currentTimeMillis.pipe(Effect.flatMap((now) =>
              recorded(app, {
                ...base,
                ...counted(),
                status: "failed",
                status_code: 503,
                duration_ms: now - startedMs,
                logs: [],
                logs_truncated: false,
                error: {
                  code: "interrupted",
                  message: "the caller went away or the server shut down before the execution finished"
                },
                result: null
              })
            ))
          )
        )
      })

      /** A synchronous execution's end: its record, and its count. */
      /** A sync execution's final record: to the log (batched), live tails and metrics. */
      const recorded = (app: ResolvedScript["app"], record: ExecutionRecord) =>
        log.record(record).pipe(
          Effect.andThen(tail.publish(record)),
          Effect.andThen(metrics.executionEnded(record, app))
        )

      const invoke = (target: ResolvedScript, input: InvocationInput) => {
        const executionId = uuidv7() as ExecutionId
        return run(target, input, executionId, undefined).pipe(
          Effect.flatMap((attempted) =>
            // Nothing to commit (most executions): not even the commit's span.
            attempted._tag === "Responded" && attempted.writes.length > 0
              ? kvCommit.commit(target.app.id, attempted.writes, {
                executionId,
                lineage: rootLineage(executionId)
              }).pipe(
                Effect.as<Attempted>(attempted),
                Effect.catch((error) =>
                  error._tag === "PersistenceError"
                    // The caller gets the storage fault's 500; the record says the same.
                    ? log.record({
                      ...attempted.record,
                      status: "failed",
                      status_code: 500,
                      error: {
                        code: "internal",
                        message: "the execution's KV writes could not be committed; none was kept"
                      },
                      result: null
                    }).pipe(Effect.andThen(Effect.fail(error)))
                    : Effect.succeed(commitFailed(attempted, error))
                )
              )
              : Effect.succeed(attempted)
          ),
          Effect.tap((attempted) => recorded(target.app, attempted.record)),
          Effect.flatMap((attempted) =>
            attempted._tag === "Responded"
              ? Effect.succeed({ executionId, response: attempted.response })
              : Effect.fail(new InvocationFailed({ executionId, error: attempted.error }))
          )
        )
      }

      const attempt = (target: ResolvedScript, input: InvocationInput, async: AsyncAttempt) =>
        run(target, input, async.executionId, async)

      return Invoker.of({ invoke, attempt })
    })
  )
}
