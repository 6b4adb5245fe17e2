import { Option } from "effect"
import type { DeadLetterEvent } from "../domain/DeadLetter.ts"
import type { ExecutionErrorInfo, ExecutionRecord } from "../domain/Execution.ts"
import type { Principal } from "../domain/Identity.ts"
import type { ExecutionId, ScriptId } from "../domain/Ids.ts"
import { HANDLER_RETRY, type HandlerJob, type Job, jobEvent, leaseSeconds } from "../domain/OutboxRepo.ts"
import { DEFAULT_TIMEOUT_SECONDS } from "../domain/Script.ts"
import type { ResolvedScript } from "./ScriptCache.ts"

/** The error codes of the records of executions the dispatcher did not run. */
export const NOT_RUN_CODES = {
  scriptGone: "script_not_found",
  principalRevoked: "principal_revoked",
  depthExceeded: "depth_exceeded"
} as const

/** Why the dispatcher did not run an execution. */
export const notRunErrors = {
  scriptGone: (job: Job): ExecutionErrorInfo => ({
    code: NOT_RUN_CODES.scriptGone,
    message: `script ${job.script_id} no longer exists`
  }),
  principalRevoked: (job: Job): ExecutionErrorInfo => ({
    code: NOT_RUN_CODES.principalRevoked,
    message: `the ${
      job.kind === "schedule" ? "schedule" : "trigger"
    }'s registrant no longer exists or may no longer act on its app`
  }),
  depthExceeded: (job: Job, max: number): ExecutionErrorInfo => ({
    code: NOT_RUN_CODES.depthExceeded,
    message: `trigger depth ${job.lineage.trigger_depth} is over PICLOUD_MAX_TRIGGER_DEPTH (${max})`
  })
}

/** The record of an execution that was not run (its script gone, its registrant revoked, too deep). */
export const notRunRecord = (
  job: Job,
  target: Option.Option<ResolvedScript>,
  now: number,
  outcome: Pick<ExecutionRecord, "status" | "status_code"> & { readonly error: ExecutionErrorInfo }
): ExecutionRecord => ({
  id: job.id,
  app_id: job.app_id,
  script_id: job.script_id as ScriptId,
  script_name: Option.match(target, { onNone: () => "", onSome: ({ script }) => script.name }),
  script_version: Option.match(target, { onNone: () => 0, onSome: ({ script }) => script.version }),
  invocation: job.kind,
  started_at: new Date(now).toISOString(),
  duration_ms: 0,
  logs: [],
  logs_truncated: false,
  accepted_at: job.accepted_at,
  attempts: job.attempt_count,
  result: null,
  ...job.lineage,
  kv_reads: 0,
  kv_writes: 0,
  kv_key: job.kind === "kv" ? job.payload.event.key : null,
  ...outcome
})

/** A dead-lettered row as its dead letter shows it (and its handler sees it): what started it, and how it ended. */
export const deadLetterEvent = (job: Job, error: ExecutionErrorInfo, deadLetteredAt: string): DeadLetterEvent => ({
  id: job.id,
  app_id: job.app_id,
  script_id: job.script_id,
  invocation: job.kind,
  request: job.kind === "http" ? job.payload.request : null,
  event: jobEvent(job),
  attempts: job.attempt_count,
  error,
  accepted_at: job.accepted_at,
  dead_lettered_at: deadLetteredAt
})

/**
 * The row of the handler that runs once `job` is dead-lettered (`job.dead_letter_script_id`, here
 * `handler` if it still exists), as `principal`: the dead execution is its `ctx.event.dead_letter`,
 * and its parent in the same causal chain, at the same depth. A handler deleted since is still
 * written: its run then fails (`script_not_found`), resolving the dead letter `handler_failed`.
 */
export const handlerJob = (
  job: Job & { readonly dead_letter_script_id: string },
  options: {
    readonly id: ExecutionId
    readonly now: number
    readonly error: ExecutionErrorInfo
    readonly principal: Principal | null
    readonly handler: Option.Option<ResolvedScript>
  }
): HandlerJob => {
  const at = new Date(options.now).toISOString()
  return {
    id: options.id,
    app_id: job.app_id,
    script_id: job.dead_letter_script_id,
    kind: "dead_letter",
    payload: { dead_letter: deadLetterEvent(job, options.error, at), principal: options.principal },
    retry: HANDLER_RETRY,
    lease_seconds: leaseSeconds(Option.match(options.handler, {
      onNone: () => DEFAULT_TIMEOUT_SECONDS,
      onSome: ({ script }) => script.timeout_seconds
    })),
    accepted_at: at,
    lineage: {
      root_execution_id: job.lineage.root_execution_id,
      parent_execution_id: job.id,
      trigger_depth: job.lineage.trigger_depth,
      trigger_id: null
    },
    dead_letter_script_id: null
  }
}
