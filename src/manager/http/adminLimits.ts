import { Config } from "effect"
import { DEFAULT_MAX_SCRIPT_BYTES } from "../../domain/Script.ts"

/** `PICLOUD_MAX_SCRIPT_BYTES`: the largest script source stored, in UTF-8 bytes (larger: 413). */
export const maxScriptBytes = Config.Int("PICLOUD_MAX_SCRIPT_BYTES").pipe(Config.withDefault(DEFAULT_MAX_SCRIPT_BYTES))

/**
 * `PICLOUD_MAX_ADMIN_BODY_BYTES`: the largest admin request body. By default twice the script
 * limit plus 64 KiB, so a source at its limit fits even when JSON escaping doubles it (quotes,
 * backslashes, newlines), with room for the other fields.
 */
export const maxAdminBodyBytes = Config.Int("PICLOUD_MAX_ADMIN_BODY_BYTES").pipe(
  Config.orElse(() => maxScriptBytes.pipe(Config.map((script) => 2 * script + 64 * 1024)))
)
