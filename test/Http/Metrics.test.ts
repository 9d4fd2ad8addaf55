/**
 * /metrics as Prometheus sees it: parsed by a text-format parser, the series are there and move under load.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { readFileSync } from "node:fs"
import parse from "parse-prometheus-text-format"
import { awaitReady, post, send, testServer } from "../support/server.js"

const page = readFileSync(new URL("../fixtures/images/simple.png", import.meta.url))

const scrape = Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  const response = yield* client.execute(HttpClientRequest.get("/metrics"))
  assert.strictEqual(response.status, 200)
  assert.include(response.headers["content-type"] ?? "", "text/plain")
  return parse(yield* response.text)
})

const value = (families: ReturnType<typeof parse>, name: string, labels: Record<string, string> = {}) => {
  const family = families.find((f) => f.name === name)
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return Number(sample?.value ?? sample?.count ?? 0)
}

const observed = (families: ReturnType<typeof parse>, name: string) =>
  (families.find((f) => f.name === name)?.metrics ?? []).reduce((n, m) => n + Number(m.buckets?.["+Inf"] ?? 0), 0)

layer(testServer({ metrics: true }), { timeout: 120_000, excludeTestServices: true })("metrics", (it) => {
  it.effect("exposes HTTP, task, pool and event-loop series that move under load", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const before = yield* scrape
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* post("/v1/ocr", page, "image/png")).status, 200)
      assert.strictEqual((yield* post("/v1/ocr", new Uint8Array(10), "text/plain")).status, 415)
      const after = yield* scrape

      const ocr = { route: "/v1/ocr", method: "POST", status: "200" }
      assert.strictEqual(value(after, "inferd_http_requests_total", ocr) - value(before, "inferd_http_requests_total", ocr), 3)
      assert.strictEqual(value(after, "inferd_http_requests_total", { route: "/v1/ocr", status: "415" }), 1)
      // This parser keeps a histogram's buckets but not its labels: compare the +Inf bucket, all series together.
      assert.isAtLeast(observed(after, "inferd_task_duration_seconds") - observed(before, "inferd_task_duration_seconds"), 3)
      assert.strictEqual(after.find((f) => f.name === "inferd_http_request_duration_seconds")?.type, "HISTOGRAM")
      assert.strictEqual(value(after, "inferd_pool_workers", { state: "size" }), 1)
      assert.strictEqual(value(after, "inferd_pool_workers", { state: "ready" }), 1)
      assert.isDefined(after.find((f) => f.name === "nodejs_eventloop_lag_p99_seconds"))
      assert.strictEqual(after.find((f) => f.name === "inferd_task_duration_seconds")?.type, "HISTOGRAM")
    }))

  it.effect("counts jobs by state and shows the shards this runner holds, as /status does", () =>
    Effect.gen(function*() {
      const accepted = yield* post("/v1/ocr?async=true", page, "image/png")
      assert.strictEqual(accepted.status, 202)
      const done = yield* scrape.pipe(
        Effect.filterOrFail((families) => value(families, "inferd_jobs", { state: "done" }) === 1, () => "not done yet"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      assert.strictEqual(value(done, "inferd_jobs", { state: "queued" }), 0)
      assert.strictEqual(value(done, "inferd_cluster_shards", { runner: "127.0.0.1:34431" }), 300)
      assert.strictEqual(value(done, "inferd_cluster_runners", { healthy: "true" }), 1)
      const status = yield* send(HttpClientRequest.get("/status"))
      assert.deepStrictEqual(status.body.cluster, { mode: "embedded", runner: "127.0.0.1:34431", runners: [{ address: "127.0.0.1:34431", healthy: true }], shards: 300 })
    }))
})
