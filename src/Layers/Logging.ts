/**
 * Logging: `INFERD_LOG_FORMAT=json` gives JSON lines, `logfmt` (the default) or `pretty` otherwise; one line per
 * event, on stderr, so that stdout carries only what a command prints (`inferd cpus` prints one JSON line).
 */
import { Config, Effect, Layer, Logger } from "effect"

export const layer = Layer.unwrapEffect(Effect.gen(function*() {
  const format = yield* Config.literal("json", "logfmt", "pretty")("INFERD_LOG_FORMAT").pipe(Config.withDefault("logfmt"))
  const logger = format === "json" ? Logger.jsonLogger : format === "pretty" ? Logger.prettyLoggerDefault : Logger.logfmtLogger
  return Logger.replace(Logger.defaultLogger, Logger.withConsoleError(logger))
}))
