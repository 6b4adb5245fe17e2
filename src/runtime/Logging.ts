import { Effect, Layer, Logger, References } from "effect"
import * as Settings from "../config/Settings.ts"

/**
 * Structured logs: one JSON object a line by default (`LOG_FORMAT=json`), or `pretty` for people.
 * `LOG_LEVEL` sets the minimum level (default Info). Both are read in any case.
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const format = yield* Settings.logFormat.config
  const level = yield* Settings.logLevel.config
  return Layer.mergeAll(
    Logger.layer([format === "pretty" ? Logger.consolePretty() : Logger.consoleJson]),
    Layer.succeed(References.MinimumLogLevel, level)
  )
}))
