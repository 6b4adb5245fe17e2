import { Config, Effect, Layer, Logger, References } from "effect"

/**
 * Structured logs: one JSON object a line by default (`LOG_FORMAT=json`), or `pretty` for people.
 * `LOG_LEVEL` sets the minimum level (default Info).
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const format = yield* Config.Literals(["json", "pretty"], "LOG_FORMAT").pipe(Config.withDefault("json" as const))
  const level = yield* Config.LogLevel("LOG_LEVEL").pipe(Config.withDefault("Info" as const))
  return Layer.mergeAll(
    Logger.layer([format === "pretty" ? Logger.consolePretty() : Logger.consoleJson]),
    Layer.succeed(References.MinimumLogLevel, level)
  )
}))
