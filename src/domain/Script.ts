import { Schema } from "effect"
import { ScriptId, UUID_PATTERN } from "./Ids.ts"
import { Ref, StorableText } from "./StorableText.ts"

/** Default and ceiling of a script's wall-clock timeout (docs/ARCHITECTURE.md §6). */
export const DEFAULT_TIMEOUT_SECONDS = 30
export const MAX_TIMEOUT_SECONDS = 300

/**
 * Script names appear in URLs (`/api/execute/{id-or-name}`): letters, digits, `-` and `_`. A name
 * shaped like a UUID is refused, since such a reference is read as an id.
 */
export const ScriptName = StorableText(64).check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, {
    message: "name must be 1-64 characters of letters, digits, '-' or '_', starting with a letter or digit"
  }),
  Schema.makeFilter((name: string) => !UUID_PATTERN.test(name) || "name must not have the shape of a UUID")
)

export const TimeoutSeconds = Schema.Int.check(
  Schema.isBetween({ minimum: 1, maximum: MAX_TIMEOUT_SECONDS }, {
    message: `timeout_seconds must be an integer from 1 to ${MAX_TIMEOUT_SECONDS}`
  })
)

/** A script as the admin API shows it (the source is fetched separately). */
export class Script extends Schema.Class<Script>("picloud/Script")({
  id: ScriptId,
  app_id: Schema.String,
  name: Schema.String,
  version: Schema.Int,
  timeout_seconds: Schema.Int,
  created_at: Schema.String,
  updated_at: Schema.String
}) {}

/** A script with the source of its current version: what the executor needs. */
export class ScriptWithSource extends Schema.Class<ScriptWithSource>("picloud/ScriptWithSource")({
  ...Script.fields,
  source: Schema.String
}) {}

/** A source is bounded in bytes by `PICLOUD_MAX_SCRIPT_BYTES` (a setting, so checked by the handler). */
const Source = StorableText()

export const CreateScript = Schema.Struct({
  /** The app's name or id; the default app when absent. */
  app: Schema.optionalKey(Ref),
  name: ScriptName,
  source: Source,
  timeout_seconds: Schema.optionalKey(TimeoutSeconds)
})
export type CreateScript = typeof CreateScript.Type

/** What the repository stores: a script whose app is already resolved. */
export interface NewScript {
  readonly app_id: string
  readonly name: string
  readonly source: string
  readonly timeout_seconds?: number
}

/** `PUT` replaces the source; name and timeout are kept unless given. Every update bumps `version`. */
export const UpdateScript = Schema.Struct({
  name: Schema.optionalKey(ScriptName),
  source: Source,
  timeout_seconds: Schema.optionalKey(TimeoutSeconds)
})
export type UpdateScript = typeof UpdateScript.Type
