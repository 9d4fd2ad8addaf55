/**
 * The OTLP/HTTP exporter behind Tracing, in a module of its own: Tracing imports it only when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set, so that most starts do not load it and its HTTP client (undici).
 */
// Subpaths: the barrels would load the whole OpenTelemetry SDK and HTTP server into every thread.
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Layer } from "effect"

/** Spans of `serviceName` sent as JSON to `endpoint` (the collector's base URL) every second. */
export const layer = (serviceName: string, endpoint: string) =>
  OtlpTracer.layer({
    url: `${endpoint.replace(/\/$/, "")}/v1/traces`,
    resource: { serviceName, serviceVersion: "0.1.0" },
    exportInterval: "1 second"
  }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(NodeHttpClient.layerUndici))
