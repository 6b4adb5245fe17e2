import { Schema } from "effect"
import { Invocation, LogEntry } from "./Execution.ts"

/** The HTTP request a script sees as its first argument (docs/ARCHITECTURE.md §4). `body` is the raw text. */
export const ScriptHttpRequest = Schema.Struct({
  method: Schema.String,
  path: Schema.String,
  params: Schema.Record(Schema.String, Schema.String),
  query: Schema.Record(Schema.String, Schema.String),
  headers: Schema.Record(Schema.String, Schema.String),
  body: Schema.String
})
export type ScriptHttpRequest = typeof ScriptHttpRequest.Type

/**
 * One execution, as sent to the executor. Plain data (structured-clone and JSON safe) so it can
 * cross a worker-thread or process boundary unchanged.
 */
export const ExecRequest = Schema.Struct({
  executionId: Schema.String,
  rootExecutionId: Schema.String,
  triggerDepth: Schema.Int,
  invocation: Invocation,
  script: Schema.Struct({
    id: Schema.String,
    name: Schema.String,
    version: Schema.Int,
    source: Schema.String
  }),
  app: Schema.Struct({ id: Schema.String, name: Schema.String }),
  principal: Schema.NullOr(Schema.Unknown),
  event: Schema.NullOr(Schema.Unknown),
  env: Schema.Record(Schema.String, Schema.String),
  request: Schema.NullOr(ScriptHttpRequest),
  timeoutMs: Schema.Int
})
export type ExecRequest = typeof ExecRequest.Type

/** A finished execution: the HTTP response to send (body already serialized) and what it logged. */
export const ExecResponse = Schema.Struct({
  statusCode: Schema.Int,
  headers: Schema.Record(Schema.String, Schema.String),
  /** `null` for a 204 from an `undefined` result. */
  body: Schema.NullOr(Schema.String),
  logs: Schema.Array(LogEntry),
  logsTruncated: Schema.Boolean,
  durationMs: Schema.Number
})
export type ExecResponse = typeof ExecResponse.Type

/**
 * Why an execution did not produce a response. Each reason has one HTTP status (docs/ARCHITECTURE.md §7):
 * CompileError/NoDefaultExport 422, ScriptThrew/InvalidResponse/ResponseTooLarge 502, Timeout 504,
 * MemoryLimit/StackLimit 507, Overloaded 503, Crashed 500, and KvConflict 409 (the script ended well,
 * but an `ifVersion` of its writes did not hold at commit, so none of them was kept).
 */
export const ExecErrorReason = Schema.Literals([
  "CompileError",
  "NoDefaultExport",
  "ScriptThrew",
  "InvalidResponse",
  "ResponseTooLarge",
  "Timeout",
  "MemoryLimit",
  "StackLimit",
  "Overloaded",
  "Crashed",
  "KvConflict"
])
export type ExecErrorReason = typeof ExecErrorReason.Type

export class ExecError extends Schema.TaggedError<ExecError>()("ExecError", {
  reason: ExecErrorReason,
  message: Schema.String,
  logs: Schema.Array(LogEntry),
  logsTruncated: Schema.Boolean,
  durationMs: Schema.Number
}) {}

export const execErrorStatus: Record<ExecErrorReason, number> = {
  CompileError: 422,
  NoDefaultExport: 422,
  ScriptThrew: 502,
  InvalidResponse: 502,
  ResponseTooLarge: 502,
  Timeout: 504,
  MemoryLimit: 507,
  StackLimit: 507,
  Overloaded: 503,
  Crashed: 500,
  KvConflict: 409
}

/** The code in the JSON error body for each reason. */
export const execErrorCode: Record<ExecErrorReason, string> = {
  CompileError: "script_invalid",
  NoDefaultExport: "script_invalid",
  ScriptThrew: "script_error",
  InvalidResponse: "invalid_response",
  ResponseTooLarge: "response_too_large",
  Timeout: "timeout",
  MemoryLimit: "memory_limit",
  StackLimit: "stack_limit",
  Overloaded: "overloaded",
  Crashed: "executor_crashed",
  KvConflict: "kv_conflict"
}
