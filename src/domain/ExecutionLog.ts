import { Context, type Effect } from "effect"
import type { ExecutionNotFound, InvalidCursor, PersistenceError } from "./Errors.ts"
import type { ExecutionAttempt, ExecutionRecord, ExecutionStatus, Invocation } from "./Execution.ts"
import type { ScriptId } from "./Ids.ts"

export interface ExecutionListOptions {
  readonly scriptId?: ScriptId | undefined
  /** Only executions of scripts in these apps. */
  readonly appIds?: ReadonlyArray<string> | undefined
  /** Only executions started this way. */
  readonly invocation?: Invocation | undefined
  /** Only executions this trigger started (its KV runs, `trigger_id`). */
  readonly triggerId?: string | undefined
  /** Only `kv` executions started by a write of this key (`kv_key`; keys are per app: give `appIds` too). */
  readonly kvKey?: string | undefined
  /** Only executions that ended this way. */
  readonly status?: ExecutionStatus | undefined
  readonly limit: number
  /** The previous page's `next_cursor`. */
  readonly cursor?: string | undefined
}

export interface ExecutionPage {
  readonly items: ReadonlyArray<ExecutionRecord>
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  readonly next_cursor: string | null
}

/** An execution as the causal tree shows it: its record without logs, result or request. */
export type ExecutionNode = Pick<
  ExecutionRecord,
  | "id"
  | "app_id"
  | "parent_execution_id"
  | "script_id"
  | "script_name"
  | "invocation"
  | "status"
  | "trigger_id"
  | "trigger_depth"
  | "started_at"
  | "duration_ms"
>

/** An execution and those below it, as far as `limit` went. */
export interface ExecutionDescendants {
  /** The execution first, then those below it by `parent_execution_id`, level by level. */
  readonly nodes: ReadonlyArray<ExecutionNode>
  /** There were more than `limit`. */
  readonly truncated: boolean
}

/** One minute of executions, as `ExecutionLog.minuteStats` gives it (minutes with none are left out). */
export interface MinuteStats {
  /** The minute's start (ms since the epoch), by `started_at`. */
  readonly at: number
  /** How many executions started in it, by status. */
  readonly outcomes: Readonly<Record<string, number>>
  /** The 95th percentile of their durations (nearest rank: the smallest with 95 % at or below it). */
  readonly p95Ms: number
  /**
   * The outbox's lag as the minute saw it: the longest wait, from acceptance to start, of the async
   * executions that started in it at their first attempt (a retried one's wait includes its
   * backoff, so it is left out); `null` when none did.
   */
  readonly waitMs: number | null
}

/** The nearest-rank 95th percentile of `values` (not empty), as PostgreSQL's `percentile_disc(0.95)`. */
export const p95 = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)]!
}

/**
 * Execution records. `record` is off the hot path: it queues the record and returns at once; a
 * background fiber writes queued records in batches. Reads see everything recorded before them
 * (they flush first), so a caller can read its own execution right after the reply.
 */
export class ExecutionLog extends Context.Service<ExecutionLog, {
  readonly record: (execution: ExecutionRecord) => Effect.Effect<void>
  /** Newest first, a page at a time. */
  readonly list: (options: ExecutionListOptions) => Effect.Effect<ExecutionPage, InvalidCursor | PersistenceError>
  readonly get: (id: string) => Effect.Effect<ExecutionRecord, ExecutionNotFound | PersistenceError>
  /**
   * The records of these ids that exist (unknown and malformed ids are left out), in the order
   * given, in one read: the live tail of a cluster's manager reads what the nodes announce.
   */
  readonly getMany: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ExecutionRecord>, PersistenceError>
  /**
   * The execution `id` and every recorded execution below it (children by `parent_execution_id`,
   * their children, ...), breadth first, at most `limit` in all; none when `id` has no record.
   */
  readonly descendants: (id: string, limit: number) => Effect.Effect<ExecutionDescendants, PersistenceError>
  /**
   * Keeps a failed attempt of an async execution that is retried, written at once. The SQL outbox
   * writes it itself, in `retryLater`'s statement; the memory outbox calls this.
   */
  readonly recordAttempt: (executionId: string, attempt: ExecutionAttempt) => Effect.Effect<void, PersistenceError>
  /** The attempts kept of an execution that were retried (all but its last, which is its record), in order. */
  readonly attempts: (executionId: string) => Effect.Effect<ReadonlyArray<ExecutionAttempt>, PersistenceError>
  /**
   * Executions started at `from` or later (of these apps only, with `appIds`), by minute: the
   * dashboard's overview. One read, bounded by `from` (`started_at` is indexed).
   */
  readonly minuteStats: (options: {
    readonly from: Date
    readonly appIds?: ReadonlyArray<string> | undefined
  }) => Effect.Effect<ReadonlyArray<MinuteStats>, PersistenceError>
  /** Writes whatever is queued now. */
  readonly flush: Effect.Effect<void, PersistenceError>
}>()("picloud/domain/ExecutionLog") {}
