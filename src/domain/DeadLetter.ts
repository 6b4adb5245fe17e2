import { Schema } from "effect"
import { ScriptHttpRequest } from "./Exec.ts"
import { ExecutionErrorInfo } from "./Execution.ts"

/**
 * An async execution that used up its attempts, kept with its request so it can be looked at and
 * replayed. `replayed_as` names the newest execution replaying it, if any.
 */
export const DeadLetter = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  script_id: Schema.String,
  request: ScriptHttpRequest,
  attempts: Schema.Int,
  error: ExecutionErrorInfo,
  accepted_at: Schema.String,
  dead_lettered_at: Schema.String,
  replayed_as: Schema.NullOr(Schema.String)
})
export type DeadLetter = typeof DeadLetter.Type
