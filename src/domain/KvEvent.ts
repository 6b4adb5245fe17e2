import { Schema } from "effect"

/**
 * What a KV trigger's script sees as `ctx.event`: one committed write (docs/ARCHITECTURE.md §5).
 * `version` is the key's version after the write (0 after a delete); `value` and `old_value` are
 * `null` where there is none (a delete has no `value`, a creation no `old_value`). `app` is the id
 * of the app whose store was written, `trigger_id` the trigger that matched, `at` when the write
 * was committed (ISO 8601).
 */
export const KvEvent = Schema.Struct({
  op: Schema.Literals(["set", "delete"]),
  key: Schema.String,
  value: Schema.Json,
  old_value: Schema.Json,
  version: Schema.Int,
  app: Schema.String,
  trigger_id: Schema.String,
  at: Schema.String
})
export type KvEvent = typeof KvEvent.Type
