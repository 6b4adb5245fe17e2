import { Context, type Effect, type Option, Schema } from "effect"
import { createHash } from "node:crypto"
import type { DeadLetter } from "./DeadLetter.ts"
import type { IdempotencyKeyReused, OutboxFull, PersistenceError } from "./Errors.ts"
import { ScriptHttpRequest } from "./Exec.ts"
import type { ExecutionErrorInfo, ExecutionRecord } from "./Execution.ts"
import { Principal } from "./Identity.ts"
import type { ExecutionId } from "./Ids.ts"
import type { RetryPolicy } from "./RetryPolicy.ts"

/** What an async HTTP execution carries to its run: the request as the script sees it, and its caller. */
export const HttpJobPayload = Schema.Struct({
  request: ScriptHttpRequest,
  principal: Schema.NullOr(Principal)
})
export type HttpJobPayload = typeof HttpJobPayload.Type

/** An accepted execution, as written to the outbox. Its id is the execution id. */
export interface NewJob {
  readonly id: ExecutionId
  readonly app_id: string
  readonly script_id: string
  readonly kind: "http"
  readonly payload: HttpJobPayload
  readonly retry: RetryPolicy
  /** How long a claim holds: past it, another claimer may run the execution again. */
  readonly lease_seconds: number
  readonly accepted_at: string
}

/** An outbox row. `attempt_count` counts claims (attempts started), including a running one. */
export interface Job extends NewJob {
  readonly attempt_count: number
  readonly next_attempt_at: string
  readonly claimed_by: string | null
  readonly claimed_until: string | null
  readonly last_error: ExecutionErrorInfo | null
}

export interface Accepted {
  readonly execution_id: ExecutionId
  readonly accepted_at: string
  /** `true` when an `Idempotency-Key` matched an earlier execution, which this is. */
  readonly repeated: boolean
}

export interface Claimed {
  readonly jobs: ReadonlyArray<Job>
  /**
   * When the earliest row not claimed now becomes claimable (epoch ms; a due retry or an expiring
   * lease), or `null` for an empty outbox: how long the dispatcher may sleep.
   */
  readonly nextDueAt: number | null
}

/** How long an `Idempotency-Key` names its execution. */
export const IDEMPOTENCY_WINDOW_HOURS = 24

/**
 * What makes two requests under one `Idempotency-Key` the same request: the script, method, path,
 * query and body (not the headers, which carry dates and tracing ids that differ on a retry).
 */
export const requestFingerprint = (job: NewJob) => {
  const { method, path, query, body } = job.payload.request
  return createHash("sha256").update(JSON.stringify([job.script_id, method, path, query, body])).digest("base64url")
}

/**
 * The durable queue of accepted async executions (docs/ARCHITECTURE.md §5). Writers `enqueue`; the
 * dispatcher `claim`s due rows under a lease and ends each claim with `complete`, `retryLater` or
 * `deadLetter`. Those three act only while `owner` still holds the claim (`false` otherwise: the
 * lease expired and the row is someone else's now), and write the execution's final record in the
 * same transaction as the row's removal, so a finished execution is never both gone and unrecorded.
 */
export class OutboxRepo extends Context.Service<OutboxRepo, {
  /**
   * Writes the row. With an `idempotencyKey` seen in the app within the window: the earlier
   * execution (`repeated`), or `IdempotencyKeyReused` if it was for a different request.
   * `OutboxFull` when the outbox already holds `PICLOUD_MAX_QUEUED_EXECUTIONS` rows.
   */
  readonly enqueue: (
    job: NewJob,
    idempotencyKey?: string
  ) => Effect.Effect<Accepted, IdempotencyKeyReused | OutboxFull | PersistenceError>
  /** Claims up to `limit` due rows for `owner`, oldest due first, each counting one attempt. */
  readonly claim: (owner: string, limit: number) => Effect.Effect<Claimed, PersistenceError>
  readonly complete: (job: Job, owner: string, record: ExecutionRecord) => Effect.Effect<boolean, PersistenceError>
  /** Puts the row back after a failed attempt, due after `delayMs`, keeping the error. */
  readonly retryLater: (
    job: Job,
    owner: string,
    options: { readonly delayMs: number; readonly error: ExecutionErrorInfo | null }
  ) => Effect.Effect<boolean, PersistenceError>
  /** Moves the row to `dead_letters`, recording the execution as `dead_lettered`. */
  readonly deadLetter: (job: Job, owner: string, record: ExecutionRecord) => Effect.Effect<boolean, PersistenceError>
  /**
   * Releases the rows claimed by this node (owners `${nodeId}/...`, this run's and earlier runs')
   * except those in `keep` (the ones this run is executing): claims a crash or a lost connection
   * left behind, claimable again at once instead of when their leases end.
   */
  readonly releaseStale: (nodeId: string, keep: ReadonlyArray<string>) => Effect.Effect<number, PersistenceError>
  readonly find: (id: string) => Effect.Effect<Option.Option<Job>, PersistenceError>
  /** Dead letters, newest first; only those of `appIds` when given. */
  readonly deadLetters: (
    options: { readonly appIds?: ReadonlyArray<string> | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<DeadLetter>, PersistenceError>
  readonly findDeadLetter: (id: string) => Effect.Effect<Option.Option<DeadLetter>, PersistenceError>
  /**
   * Enqueues the dead letter's request again as execution `executionId` (same script, policy and
   * caller), noting it on the dead letter; `None` if there is no such dead letter.
   */
  readonly replay: (
    id: string,
    executionId: ExecutionId,
    acceptedAt: string
  ) => Effect.Effect<Option.Option<Accepted>, PersistenceError>
  /** Removes a dead letter; whether there was one. */
  readonly discard: (id: string) => Effect.Effect<boolean, PersistenceError>
  /** Records that the caller waiting for this execution went away before its result. */
  readonly abandon: (id: string) => Effect.Effect<void, PersistenceError>
}>()("picloud/domain/OutboxRepo") {}
