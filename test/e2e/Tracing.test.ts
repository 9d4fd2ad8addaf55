/**
 * One trace per request, across the thread boundary: the built daemon exports OTLP/HTTP JSON to a collector on
 * loopback, and the worker's span shares the trace of the HTTP request that caused it.
 */
import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { createServer as createHttpServer } from "node:http"
import { ready, startDaemon } from "../support/daemon.js"

const page = readFileSync(new URL("../fixtures/images/simple.png", import.meta.url))

interface OtlpSpan { readonly traceId: string; readonly spanId: string; readonly parentSpanId?: string; readonly name: string }
interface OtlpBody { readonly resourceSpans: ReadonlyArray<{ readonly resource: { readonly attributes: ReadonlyArray<{ key: string; value: { stringValue?: string } }> }; readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }> }> }

describe("tracing", () => {
  it("exports the request's spans from the main thread and the worker under one trace id", async () => {
    const spans: Array<OtlpSpan & { service: string }> = []
    const collector = createHttpServer((req, res) => {
      let body = ""
      req.on("data", (d) => (body += d)).on("end", () => {
        if (req.url === "/v1/traces") {
          for (const rs of (JSON.parse(body) as OtlpBody).resourceSpans) {
            const service = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "?"
            for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ ...span, service })
          }
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    }).listen(0, "127.0.0.1")
    await new Promise((r) => collector.once("listening", r))
    const address = collector.address()
    const collectorPort = typeof address === "object" && address ? address.port : 0
    const daemon = await startDaemon({ INFERD_WORKERS: "1", OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}` })
    try {
      const base = daemon.base
      expect(await ready(daemon), daemon.log()).toBe(true)
      const response = await fetch(`${base}/v1/ocr`, { method: "POST", body: page, headers: { "content-type": "image/png", "x-request-id": "trace-test-1" } })
      expect(response.status).toBe(200)
      expect(response.headers.get("x-request-id")).toBe("trace-test-1")

      const until = Date.now() + 20_000
      const find = () => spans.find((s) => s.name === "worker.ocr" && spans.some((m) => m.service === "inferd" && m.name === "ocr" && m.traceId === s.traceId))
      while (find() === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 200))
      const worker = find()
      expect(worker, JSON.stringify(spans.map((s) => [s.service, s.name, s.traceId]))).toBeDefined()
      expect(worker!.service).toBe("inferd-worker")
      const main = spans.filter((s) => s.service === "inferd" && s.traceId === worker!.traceId).map((s) => s.name)
      expect(main).toContain("ocr")
    } finally {
      daemon.child.kill("SIGTERM")
      await daemon.exit
      collector.close()
    }
  }, 180_000)
})
