/**
 * Logging: `INFERD_LOG_FORMAT=json` gives JSON lines, `logfmt` (the default) or `pretty` otherwise; one line per
 * event, on stderr, so that stdout carries only what a command prints (`inferd cpus` prints one JSON line).
 * Each line carries the trace and span ids of the span it was logged in, so logs and traces join up.
 */
import { Config, Context, Effect, FiberRef, FiberRefs, HashMap, Layer, Logger, Option, Tracer } from "effect"

const withTraceIds = <O>(logger: Logger.Logger<unknown, O>) =>
  Logger.mapInputOptions(logger, (options: Logger.Logger.Options<unknown>) => {
    const span = Context.getOption(FiberRefs.getOrDefault(options.context, FiberRef.currentContext), Tracer.ParentSpan)
    if (Option.isNone(span)) return options
    const annotations = HashMap.set(HashMap.set(options.annotations, "traceId", span.value.traceId), "spanId", span.value.spanId)
    return { ...options, annotations }
  })

export const layer = Layer.unwrapEffect(Effect.gen(function*() {
  const format = yield* Config.literal("json", "logfmt", "pretty")("INFERD_LOG_FORMAT").pipe(Config.withDefault("logfmt"))
  const logger = format === "json" ? Logger.jsonLogger : format === "pretty" ? Logger.prettyLoggerDefault : Logger.logfmtLogger
  return Logger.replace(Logger.defaultLogger, Logger.withConsoleError(withTraceIds(logger)))
}))
