import { Schema } from "effect"
import { ScriptHttpRequest } from "./Exec.ts"
import { ExecutionErrorInfo, Invocation } from "./Execution.ts"
import { KvEvent } from "./KvEvent.ts"
import { ScheduleEvent } from "./ScheduleEvent.ts"

/**
 * An async execution that used up its attempts (or could never run), as its dead-letter handler
 * sees it (`ctx.event.dead_letter`): what it was started with (`request` for an HTTP request,
 * `event` for a KV trigger or a schedule's tick, the other `null`), how many attempts it had and
 * its last error.
 */
export const DeadLetterEvent = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  script_id: Schema.String,
  invocation: Invocation,
  request: Schema.NullOr(ScriptHttpRequest),
  event: Schema.NullOr(Schema.Union([KvEvent, ScheduleEvent])),
  attempts: Schema.Int,
  error: ExecutionErrorInfo,
  accepted_at: Schema.String,
  dead_lettered_at: Schema.String
})
export type DeadLetterEvent = typeof DeadLetterEvent.Type

/**
 * What became of a dead letter's handler: `pending` while its row waits in the outbox, then
 * `handled` (it succeeded) or `handler_failed` (it failed; never retried). `null`: no handler.
 */
export const DeadLetterResolution = Schema.Literals(["pending", "handled", "handler_failed"])
export type DeadLetterResolution = typeof DeadLetterResolution.Type

/**
 * A dead letter as kept and listed, so it can be looked at and replayed. `replayed_as` names the
 * newest execution replaying it, if any; `resolution_error` is the handler's error when it failed.
 */
export const DeadLetter = Schema.Struct({
  ...DeadLetterEvent.fields,
  replayed_as: Schema.NullOr(Schema.String),
  resolution: Schema.NullOr(DeadLetterResolution),
  resolution_error: Schema.NullOr(ExecutionErrorInfo)
})
export type DeadLetter = typeof DeadLetter.Type
