/**
 * Tracing: with `OTEL_EXPORTER_OTLP_ENDPOINT` set (the collector's base URL, OTel's own variable), spans are
 * exported over OTLP/HTTP as JSON; without it, nothing is exported and nothing is sent anywhere. Each worker
 * thread exports its own spans, children of the request's (the platform carries the span context across).
 */
// Subpaths: the barrels would load the whole OpenTelemetry SDK and HTTP server into every thread.
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, Effect, Layer, Option } from "effect"

export const layer = (serviceName: string) =>
  Layer.unwrapEffect(Effect.map(Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")), Option.match({
    onNone: () => Layer.empty,
    onSome: (endpoint) =>
      OtlpTracer.layer({
        url: `${endpoint.replace(/\/$/, "")}/v1/traces`,
        resource: { serviceName, serviceVersion: "0.1.0" },
        exportInterval: "1 second"
      }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(NodeHttpClient.layerUndici))
  })))
