import { Data, Schema } from "effect"

/** A storage operation failed (database away, constraint we did not expect, ...). Services map it; HTTP makes it a 500. */
export class PersistenceError extends Data.TaggedError("PersistenceError")<{
  readonly operation: string
  readonly cause: unknown
}> {}

export class ScriptNotFound extends Schema.TaggedError<ScriptNotFound>()("ScriptNotFound", {
  ref: Schema.String
}) {}

export class ScriptNameTaken extends Schema.TaggedError<ScriptNameTaken>()("ScriptNameTaken", {
  name: Schema.String
}) {}

export class ExecutionNotFound extends Schema.TaggedError<ExecutionNotFound>()("ExecutionNotFound", {
  id: Schema.String
}) {}

/** The source does not compile (or has no default export): where and why. */
export class ScriptInvalid extends Schema.TaggedError<ScriptInvalid>()("ScriptInvalid", {
  message: Schema.String,
  line: Schema.NullOr(Schema.Int),
  column: Schema.NullOr(Schema.Int)
}) {}

/** A pagination cursor that this server did not hand out. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {
  cursor: Schema.String
}) {}

export class AppNotFound extends Schema.TaggedError<AppNotFound>()("AppNotFound", {
  ref: Schema.String
}) {}

export class AppNameTaken extends Schema.TaggedError<AppNameTaken>()("AppNameTaken", {
  name: Schema.String
}) {}

export class UsernameTaken extends Schema.TaggedError<UsernameTaken>()("UsernameTaken", {
  username: Schema.String
}) {}

export class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", {
  ref: Schema.String
}) {}

export class TokenNotFound extends Schema.TaggedError<TokenNotFound>()("TokenNotFound", {
  id: Schema.String
}) {}

export class RouteConflict extends Schema.TaggedError<RouteConflict>()("RouteConflict", {
  method: Schema.String,
  path: Schema.String
}) {}

export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  id: Schema.String
}) {}

/** An `Idempotency-Key` already used, within its window, for a different request. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  key: Schema.String
}) {}

/** The outbox holds as many accepted executions as it may (`PICLOUD_MAX_QUEUED_EXECUTIONS`). */
export class OutboxFull extends Schema.TaggedError<OutboxFull>()("OutboxFull", {
  limit: Schema.Int
}) {}

/** A script source over `PICLOUD_MAX_SCRIPT_BYTES` (UTF-8 bytes). */
export class ScriptTooLarge extends Schema.TaggedError<ScriptTooLarge>()("ScriptTooLarge", {
  limit: Schema.Int
}) {}

/** The default app cannot be deleted. */
export class AppProtected extends Schema.TaggedError<AppProtected>()("AppProtected", {
  name: Schema.String
}) {}

/** An app that still holds scripts is deleted only when asked to delete them too. */
export class AppNotEmpty extends Schema.TaggedError<AppNotEmpty>()("AppNotEmpty", {
  name: Schema.String,
  scripts: Schema.Int
}) {}

/** A route path that is not a pattern (the API's schema refuses these first). */
export class RoutePathInvalid extends Schema.TaggedError<RoutePathInvalid>()("RoutePathInvalid", {
  path: Schema.String,
  reason: Schema.String
}) {}

export class TriggerNotFound extends Schema.TaggedError<TriggerNotFound>()("TriggerNotFound", {
  id: Schema.String
}) {}

/** A key pattern that does not compile (the API's schema refuses these first). */
export class TriggerPatternInvalid extends Schema.TaggedError<TriggerPatternInvalid>()("TriggerPatternInvalid", {
  pattern: Schema.String,
  reason: Schema.String
}) {}

export class ScheduleNotFound extends Schema.TaggedError<ScheduleNotFound>()("ScheduleNotFound", {
  id: Schema.String
}) {}

export class ScheduleNameTaken extends Schema.TaggedError<ScheduleNameTaken>()("ScheduleNameTaken", {
  name: Schema.String
}) {}

/** A cron expression or a time zone a schedule cannot run by (the API's schema refuses these first). */
export class ScheduleInvalid extends Schema.TaggedError<ScheduleInvalid>()("ScheduleInvalid", {
  field: Schema.Literals(["cron", "timezone"]),
  reason: Schema.String
}) {}
