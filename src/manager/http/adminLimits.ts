import { Config } from "effect"
import { DEFAULT_MAX_SCRIPT_BYTES } from "../../domain/Script.ts"

/** `PICLOUD_MAX_SCRIPT_BYTES`: the largest script source stored, in UTF-8 bytes (larger: 413). */
export const maxScriptBytes = Config.Int("PICLOUD_MAX_SCRIPT_BYTES").pipe(Config.withDefault(DEFAULT_MAX_SCRIPT_BYTES))
