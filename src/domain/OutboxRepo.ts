import { Context, type Effect, type Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { type DeadLetter, DeadLetterEvent, type DeadLetterResolution } from "./DeadLetter.ts"
import type { IdempotencyKeyReused, OutboxFull, PersistenceError } from "./Errors.ts"
import { ScriptHttpRequest } from "./Exec.ts"
import type { ExecutionAttempt, ExecutionErrorInfo, ExecutionRecord, Lineage } from "./Execution.ts"
import { Principal } from "./Identity.ts"
import type { ExecutionId } from "./Ids.ts"
import { KvEvent } from "./KvEvent.ts"
import type { RetryPolicy } from "./RetryPolicy.ts"
import { ScheduleEvent } from "./ScheduleEvent.ts"

/** What an async HTTP execution carries to its run: the request as the script sees it, and its caller. */
export const HttpJobPayload = Schema.Struct({
  request: ScriptHttpRequest,
  principal: Schema.NullOr(Principal)
})
export type HttpJobPayload = typeof HttpJobPayload.Type

/**
 * What a KV trigger's execution carries: the write (`ctx.event`) and the trigger's registrant, who
 * it runs as if it still may act on the app when it runs.
 */
export const KvJobPayload = Schema.Struct({
  event: KvEvent,
  registrant_user_id: Schema.String
})
export type KvJobPayload = typeof KvJobPayload.Type

/**
 * What a schedule's tick carries: the tick (`ctx.event`) and the schedule's registrant, who it runs
 * as if it still may act on the app when it runs (as a KV trigger's).
 */
export const ScheduleJobPayload = Schema.Struct({
  event: ScheduleEvent,
  registrant_user_id: Schema.String
})
export type ScheduleJobPayload = typeof ScheduleJobPayload.Type

/** What a dead-letter handler carries: the dead letter (`ctx.event.dead_letter`) and who it runs as. */
export const DeadLetterJobPayload = Schema.Struct({
  dead_letter: DeadLetterEvent,
  principal: Schema.NullOr(Principal)
})
export type DeadLetterJobPayload = typeof DeadLetterJobPayload.Type

/** A job's kind and payload, one member per kind, with more `fields` on every member. */
export const withJobKind = <const Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Union([
    Schema.Struct({ ...fields, kind: Schema.Literal("http"), payload: HttpJobPayload }),
    Schema.Struct({ ...fields, kind: Schema.Literal("kv"), payload: KvJobPayload }),
    Schema.Struct({ ...fields, kind: Schema.Literal("schedule"), payload: ScheduleJobPayload }),
    Schema.Struct({ ...fields, kind: Schema.Literal("dead_letter"), payload: DeadLetterJobPayload })
  ])

/**
 * A job's kind and its payload: the invocation its execution will be (`ctx.invocation`). `http`:
 * an async route's request; `kv`: a KV trigger's event; `schedule`: a schedule's tick;
 * `dead_letter`: a dead-letter handler.
 */
export const JobKind = withJobKind({})
export type JobKind = typeof JobKind.Type

/** An accepted execution, as written to the outbox. Its id is the execution id. */
export type NewJob = JobKind & {
  readonly id: ExecutionId
  readonly app_id: string
  readonly script_id: string
  readonly retry: RetryPolicy
  /** How long a claim holds: past it, another claimer may run the execution again. */
  readonly lease_seconds: number
  readonly accepted_at: string
  /** The lineage its execution will have (docs/ARCHITECTURE.md §5). */
  readonly lineage: Lineage
  /** The script to run if the execution is dead-lettered (a handler itself has none). */
  readonly dead_letter_script_id: string | null
}

/** A dead-letter handler's row. */
export type HandlerJob = Extract<NewJob, { readonly kind: "dead_letter" }>

/** A schedule's row (a tick, or a run asked for now). */
export type ScheduleJob = Extract<NewJob, { readonly kind: "schedule" }>

/** The event a row carries to `ctx.event` and to its dead letter: a KV trigger's or a schedule's; `null` for the rest. */
export const jobEvent = (job: JobKind) => job.kind === "kv" || job.kind === "schedule" ? job.payload.event : null

/** An outbox row. `attempt_count` counts claims (attempts started), including a running one. */
export type Job = NewJob & {
  readonly attempt_count: number
  readonly next_attempt_at: string
  readonly claimed_by: string | null
  readonly claimed_until: string | null
  readonly last_error: ExecutionErrorInfo | null
}

/** A row still in the outbox, as the causal tree shows it (`status: "queued"`). */
export type QueuedJob = Pick<Job, "id" | "app_id" | "script_id" | "kind" | "lineage" | "accepted_at">

/** A claim outlives the script's own timeout by this much before another claimer may take the row. */
export const LEASE_MARGIN_SECONDS = 30

/** The lease of a job running a script with this timeout. */
export const leaseSeconds = (timeoutSeconds: number) => timeoutSeconds + LEASE_MARGIN_SECONDS

/** A dead-letter handler runs once: it is never retried (nor dead-lettered). */
export const HANDLER_RETRY: RetryPolicy = {
  backoff: "constant",
  initial_delay_ms: 1000,
  max_delay_ms: 1000,
  max_attempts: 1,
  jitter: false
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

/** What `/metrics` shows of the outbox: one cheap read, never per request. */
export interface OutboxStats {
  /** Rows in the outbox: accepted async executions not ended yet, running ones included. */
  readonly rows: number
  /** Rows claimable now (due, and not held by a live claim): the backlog waiting for a dispatcher. */
  readonly due: number
  /** How long the oldest of those has been claimable (ms; due, or its lease over), 0 when none is: the dispatchers' lag. */
  readonly oldestDueAgeMs: number
}

/** A dead letter's handler state as a listing filters it: `none` for a dead letter without a handler. */
export type DeadLetterResolutionFilter = DeadLetterResolution | "none"

/** What `deadLetters` lists. */
export interface DeadLetterListOptions {
  /** Only those of these apps. */
  readonly appIds?: ReadonlyArray<string> | undefined
  /** Only those of this script. */
  readonly scriptId?: string | undefined
  readonly resolution?: DeadLetterResolutionFilter | undefined
  /** Only those after this one in the listing's order (the previous page's last). */
  readonly after?: { readonly at: string; readonly id: string } | undefined
  readonly limit: number
}

/** How long an `Idempotency-Key` names its execution. */
export const IDEMPOTENCY_WINDOW_HOURS = 24

/**
 * What makes two requests under one `Idempotency-Key` the same request: the script, method, path,
 * query and body (not the headers, which carry dates and tracing ids that differ on a retry); for
 * another kind, its script and payload.
 */
export const requestFingerprint = (job: NewJob) => {
  const hashed = job.kind === "http"
    ? [
      job.script_id,
      job.payload.request.method,
      job.payload.request.path,
      job.payload.request.query,
      job.payload.request.body
    ]
    : [job.script_id, job.kind, job.payload]
  return createHash("sha256").update(JSON.stringify(hashed)).digest("base64url")
}

/**
 * The durable queue of accepted async executions (docs/ARCHITECTURE.md §5). Writers `enqueue` (an
 * async request) or `enqueueAll` (the rows a committed KV write triggers); the dispatcher `claim`s
 * due rows under a lease and ends each claim with `complete`, `retryLater` or `deadLetter`. Those
 * three act only while `owner` still holds the claim (`false` otherwise: the lease expired and the
 * row is someone else's now), and write the execution's final record in the same transaction as
 * the row's removal, so a finished execution is never both gone and unrecorded.
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
  /**
   * Writes many rows in one statement, joining the transaction open around it (on PostgreSQL: a KV
   * commit and the trigger rows it causes are one transaction, so an event is neither lost nor
   * emitted for a write that rolled back). No idempotency key, and never refused for
   * `PICLOUD_MAX_QUEUED_EXECUTIONS`: the rows belong to a write already made, which a full outbox
   * must not undo or lose. Dispatchers are woken once the rows are committed.
   */
  readonly enqueueAll: (jobs: ReadonlyArray<NewJob>) => Effect.Effect<void, PersistenceError>
  /** Claims up to `limit` due rows for `owner`, oldest due first, each counting one attempt. */
  readonly claim: (owner: string, limit: number) => Effect.Effect<Claimed, PersistenceError>
  /**
   * Ends the row with its final record: a success, an execution refused for its depth, or a
   * dead-letter handler's run, which also resolves its dead letter (`handled` when the record
   * succeeded, else `handler_failed` with the record's error).
   */
  readonly complete: (job: Job, owner: string, record: ExecutionRecord) => Effect.Effect<boolean, PersistenceError>
  /**
   * Puts the row back after a failed attempt, due after `delayMs`, keeping the error; and the
   * `attempt` itself, if given, in the execution's attempt history (`ExecutionLog.attempts`), in the
   * same statement.
   */
  readonly retryLater: (
    job: Job,
    owner: string,
    options: {
      readonly delayMs: number
      readonly error: ExecutionErrorInfo | null
      readonly attempt?: ExecutionAttempt | undefined
    }
  ) => Effect.Effect<boolean, PersistenceError>
  /**
   * Moves the row to `dead_letters`, recording the execution as `dead_lettered`. With `handler` (a
   * `dead_letter` job for the row's `dead_letter_script_id`), the handler's row is written in the
   * same transaction, the dead letter's resolution is `pending`, and it is stamped with the time
   * the handler sees (`payload.dead_letter.dead_lettered_at`).
   */
  readonly deadLetter: (
    job: Job,
    owner: string,
    record: ExecutionRecord,
    handler?: HandlerJob
  ) => Effect.Effect<boolean, PersistenceError>
  /**
   * Releases the rows claimed by this node (owners `${nodeId}/...`, this run's and earlier runs')
   * except those in `keep` (the ones this run is executing): claims a crash or a lost connection
   * left behind, claimable again at once instead of when their leases end.
   */
  readonly releaseStale: (nodeId: string, keep: ReadonlyArray<string>) => Effect.Effect<number, PersistenceError>
  readonly find: (id: string) => Effect.Effect<Option.Option<Job>, PersistenceError>
  /** Rows whose lineage parent is one of `parentIds`, oldest first, at most `limit`. */
  readonly queuedChildren: (
    parentIds: ReadonlyArray<string>,
    limit: number
  ) => Effect.Effect<ReadonlyArray<QueuedJob>, PersistenceError>
  /**
   * Dead letters, newest first (by `dead_lettered_at` to the millisecond, then id), at most `limit`;
   * only those that match every option given.
   */
  readonly deadLetters: (options: DeadLetterListOptions) => Effect.Effect<ReadonlyArray<DeadLetter>, PersistenceError>
  readonly findDeadLetter: (id: string) => Effect.Effect<Option.Option<DeadLetter>, PersistenceError>
  /**
   * Enqueues the dead letter's execution again as execution `executionId` (same kind, payload,
   * script, policy and handler; in its lineage, a child of the dead execution), noting it on the
   * dead letter; `None` if there is no such dead letter.
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
  /** Its depth and lag, read in one pass (for `/metrics`, which caches it). */
  readonly stats: Effect.Effect<OutboxStats, PersistenceError>
}>()("picloud/domain/OutboxRepo") {}
