import { Schema } from "effect"
import { KeyPattern } from "./KeyPattern.ts"
import { RetryPolicy, RetryPolicyInput } from "./RetryPolicy.ts"
import { Ref } from "./StorableText.ts"

/** The KV writes a trigger reacts to (the ops of `KvStore.commit`). */
export const TriggerOp = Schema.Literals(["set", "delete"])
export type TriggerOp = typeof TriggerOp.Type

/** Both, in this order: what a trigger created without `ops` reacts to. */
export const ALL_TRIGGER_OPS: ReadonlyArray<TriggerOp> = ["set", "delete"]

/** `ops` as a client sends it: one or both ops, each once. */
const TriggerOps = Schema.Array(TriggerOp).check(
  Schema.isMinLength(1, { message: "ops must name at least one of \"set\", \"delete\"" }),
  Schema.makeFilter((ops: ReadonlyArray<TriggerOp>) => new Set(ops).size === ops.length || "ops must not repeat an op")
)

/** `ops` stored and shown in one order (`set` before `delete`), whatever order they were sent in. */
export const normalizeOps = (ops: ReadonlyArray<TriggerOp>): ReadonlyArray<TriggerOp> =>
  ALL_TRIGGER_OPS.filter((op) => ops.includes(op))

/**
 * A KV trigger: a write (`ops`) to a key of the app that matches `key_pattern` runs `script_id` as
 * an async execution, retried by `retry`; when its attempts are used up, `dead_letter_script_id`
 * (if any) handles the dead letter. It runs as `registrant_user_id`, whoever last wrote the
 * trigger: kept even if that user is deleted, so the run-time check can refuse it.
 */
export const Trigger = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  script_id: Schema.String,
  key_pattern: Schema.String,
  ops: Schema.Array(TriggerOp),
  retry: RetryPolicy,
  dead_letter_script_id: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  registrant_user_id: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String
})
export type Trigger = typeof Trigger.Type

/** What the repository stores: scripts and app resolved, defaults applied. */
export type NewTrigger = Omit<Trigger, "id" | "created_at" | "updated_at">

/** What an update may change; the registrant always changes, to whoever writes. */
export type TriggerPatch =
  & Partial<Pick<Trigger, "script_id" | "key_pattern" | "ops" | "retry" | "dead_letter_script_id" | "enabled">>
  & Pick<Trigger, "registrant_user_id">

export const CreateTrigger = Schema.Struct({
  /** The app's name or id; the default app when absent. */
  app: Schema.optionalKey(Ref),
  /** The script's name (in the app) or id. */
  script: Ref,
  key_pattern: KeyPattern,
  /** Both when absent. */
  ops: Schema.optionalKey(TriggerOps),
  /** Fields left out take their defaults (exponential from 1 s, capped at 5 min, 5 attempts, jitter). */
  retry: Schema.optionalKey(RetryPolicyInput),
  /** A script of the same app that handles the trigger's dead letters; none when absent or null. */
  dead_letter_script: Schema.optionalKey(Schema.NullOr(Ref)),
  /** `true` when absent. */
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type CreateTrigger = typeof CreateTrigger.Type

/**
 * `PATCH`: each field given replaces the trigger's (`retry` as a whole, its missing fields taking
 * their defaults; `dead_letter_script: null` removes the handler). The app cannot change.
 */
export const UpdateTrigger = Schema.Struct({
  script: Schema.optionalKey(Ref),
  key_pattern: Schema.optionalKey(KeyPattern),
  ops: Schema.optionalKey(TriggerOps),
  retry: Schema.optionalKey(RetryPolicyInput),
  dead_letter_script: Schema.optionalKey(Schema.NullOr(Ref)),
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type UpdateTrigger = typeof UpdateTrigger.Type
