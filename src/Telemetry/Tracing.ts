/**
 * Tracing: with `OTEL_EXPORTER_OTLP_ENDPOINT` set (the collector's base URL, OTel's own variable), spans are
 * exported over OTLP/HTTP as JSON; without it, nothing is exported and nothing is sent anywhere. Each worker
 * thread exports its own spans, children of the request's (the platform carries the span context across).
 */
import { Config, Effect, Layer, Option } from "effect"

export const layer = (serviceName: string) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const endpoint = yield* Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT"))
    if (Option.isNone(endpoint)) return Layer.empty
    // Imported only when set: the exporter and its HTTP client (undici) are half the code a worker thread
    // would otherwise compile at start.
    const exporter = yield* Effect.promise(() => import("./OtlpExporter.js"))
    return exporter.layer(serviceName, endpoint.value)
  }))
