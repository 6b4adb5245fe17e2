import { Context, type Effect } from "effect"
import type { ExecutionNotFound, InvalidCursor, PersistenceError } from "./Errors.ts"
import type { ExecutionRecord } from "./Execution.ts"
import type { ScriptId } from "./Ids.ts"

export interface ExecutionListOptions {
  readonly scriptId?: ScriptId | undefined
  /** Only executions of scripts in these apps. */
  readonly appIds?: ReadonlyArray<string> | undefined
  readonly limit: number
  /** The previous page's `next_cursor`. */
  readonly cursor?: string | undefined
}

export interface ExecutionPage {
  readonly items: ReadonlyArray<ExecutionRecord>
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  readonly next_cursor: string | null
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
  /** Writes whatever is queued now. */
  readonly flush: Effect.Effect<void, PersistenceError>
}>()("picloud/domain/ExecutionLog") {}
