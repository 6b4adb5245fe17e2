import { Schema } from "effect"
import { ExecutionId, ScriptId } from "./Ids.ts"

export const LogLevel = Schema.Literals(["log", "info", "warn", "error", "debug"])
export type LogLevel = typeof LogLevel.Type

/** One captured `console.*` call: `at` is milliseconds since the execution started. */
export const LogEntry = Schema.Struct({
  level: LogLevel,
  message: Schema.String,
  at: Schema.Number
})
export type LogEntry = typeof LogEntry.Type

export const Invocation = Schema.Literals(["http", "kv", "schedule", "dead_letter"])
export type Invocation = typeof Invocation.Type

/**
 * How a recorded execution ended. `dead_lettered`: an async execution that used up its attempts (or
 * could never run: its script or its trigger's registrant gone); `depth_exceeded`: a triggered
 * execution deeper than `PICLOUD_MAX_TRIGGER_DEPTH`, never run (docs/ARCHITECTURE.md §5).
 */
export const ExecutionStatus = Schema.Literals(["succeeded", "failed", "dead_lettered", "depth_exceeded"])
export type ExecutionStatus = typeof ExecutionStatus.Type

/** The error an execution ended with, as stored and shown (docs/ARCHITECTURE.md §7 codes). */
export const ExecutionErrorInfo = Schema.Struct({
  code: Schema.String,
  message: Schema.String
})
export type ExecutionErrorInfo = typeof ExecutionErrorInfo.Type

/** The script's response, kept for async executions (whose caller reads it later). */
export const ExecutionResult = Schema.Struct({
  status: Schema.Int,
  headers: Schema.Record(Schema.String, Schema.String),
  body: Schema.NullOr(Schema.String)
})
export type ExecutionResult = typeof ExecutionResult.Type

/**
 * Where an execution sits in the causal chain that led to it (docs/ARCHITECTURE.md §5). A root (an
 * HTTP request) is its own root, with no parent, at depth 0; an execution a KV write triggered has
 * the writer as its parent, the writer's root, the writer's depth + 1 and the trigger's id; a
 * dead-letter handler has the dead execution as its parent, at the dead execution's depth.
 */
export const Lineage = Schema.Struct({
  root_execution_id: Schema.String,
  parent_execution_id: Schema.NullOr(Schema.String),
  trigger_depth: Schema.Int,
  trigger_id: Schema.NullOr(Schema.String)
})
export type Lineage = typeof Lineage.Type

/** The lineage of an execution that nothing else started. */
export const rootLineage = (executionId: string): Lineage => ({
  root_execution_id: executionId,
  parent_execution_id: null,
  trigger_depth: 0,
  trigger_id: null
})

/** What is kept of one execution. A plain struct: one is built for every execution, on the hot path. */
export const ExecutionRecord = Schema.Struct({
  id: ExecutionId,
  app_id: Schema.String,
  script_id: ScriptId,
  script_name: Schema.String,
  script_version: Schema.Int,
  invocation: Invocation,
  status: ExecutionStatus,
  status_code: Schema.NullOr(Schema.Int),
  started_at: Schema.String,
  duration_ms: Schema.Number,
  logs: Schema.Array(LogEntry),
  logs_truncated: Schema.Boolean,
  error: Schema.NullOr(ExecutionErrorInfo),
  /** When an async execution was accepted; `null` for a synchronous one. */
  accepted_at: Schema.NullOr(Schema.String),
  attempts: Schema.Int,
  result: Schema.NullOr(ExecutionResult),
  ...Lineage.fields,
  /** The KV reads and writes the execution made (0 until the sandbox has a `kv`). */
  kv_reads: Schema.Int,
  kv_writes: Schema.Int,
  /** The key whose write started a `kv` execution (its event's `key`); `null` for other invocations. */
  kv_key: Schema.NullOr(Schema.String)
})
export type ExecutionRecord = typeof ExecutionRecord.Type

/** How one attempt of an execution ended: an attempt that did not succeed failed, whatever came of the execution. */
export const AttemptStatus = Schema.Literals(["succeeded", "failed"])
export type AttemptStatus = typeof AttemptStatus.Type

/**
 * One attempt of an execution (`GET /api/admin/executions/{id}`, `attempts`). An async execution
 * that failed and was retried keeps each retried attempt (`ExecutionLog.attempts`); its last attempt
 * is its record. A sync execution has one attempt.
 */
export const ExecutionAttempt = Schema.Struct({
  /** Which attempt (1 = the first): the execution's claim count when it ran. */
  attempt: Schema.Int,
  status: AttemptStatus,
  status_code: Schema.NullOr(Schema.Int),
  error: Schema.NullOr(ExecutionErrorInfo),
  started_at: Schema.String,
  duration_ms: Schema.Number,
  logs: Schema.Array(LogEntry),
  logs_truncated: Schema.Boolean
})
export type ExecutionAttempt = typeof ExecutionAttempt.Type

/** The attempt a record ran: the last one of its execution. */
export const attemptOf = (record: ExecutionRecord): ExecutionAttempt => ({
  attempt: record.attempts,
  status: record.status === "succeeded" ? "succeeded" : "failed",
  status_code: record.status_code,
  error: record.error,
  started_at: record.started_at,
  duration_ms: record.duration_ms,
  logs: record.logs,
  logs_truncated: record.logs_truncated
})

/**
 * A node of the causal tree (`GET /api/admin/executions/{id}/tree`): a recorded execution, or one
 * still in the outbox (`queued`, not started: no `started_at` nor `duration_ms`), with the
 * executions it caused below it, oldest first.
 */
export interface ExecutionTreeNode {
  readonly id: string
  readonly script_id: string
  readonly script_name: string
  readonly invocation: Invocation
  readonly status: ExecutionStatus | "queued"
  readonly trigger_id: string | null
  readonly trigger_depth: number
  readonly started_at: string | null
  readonly duration_ms: number | null
  readonly children: ReadonlyArray<ExecutionTreeNode>
}

export const ExecutionTreeNode = Schema.Struct({
  id: Schema.String,
  script_id: Schema.String,
  script_name: Schema.String,
  invocation: Invocation,
  status: Schema.Union([ExecutionStatus, Schema.Literal("queued")]),
  trigger_id: Schema.NullOr(Schema.String),
  trigger_depth: Schema.Int,
  started_at: Schema.NullOr(Schema.String),
  duration_ms: Schema.NullOr(Schema.Number),
  children: Schema.Array(Schema.suspend((): Schema.Codec<ExecutionTreeNode> => ExecutionTreeNode))
}).annotate({ identifier: "ExecutionTreeNode" })

/** The causal tree below an execution: `nodes` in it; `truncated` when there were more than it shows. */
export const ExecutionTree = Schema.Struct({
  root: ExecutionTreeNode,
  nodes: Schema.Int,
  truncated: Schema.Boolean
})
export type ExecutionTree = typeof ExecutionTree.Type
