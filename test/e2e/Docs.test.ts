/**
 * The API documents itself: /openapi.json is valid OpenAPI 3 by a real validator and lists every route,
 * and /docs renders in a real browser (Debian's chromium through playwright-core; skipped where absent).
 */
import { HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { chromium } from "playwright-core"
import { send, testServer } from "../support/server.js"
import * as shared from "../support/shared.js"
import { HttpServer } from "@effect/platform"

const browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync) ??
  (shared.skipping("/docs in a browser", "no chromium installed (apt-get install chromium)"), undefined)

const routes = ["/status", "/health/live", "/health/ready", "/metrics", "/v1/ocr", "/v1/audio/analyze", "/v1/faces/detect", "/v1/faces/verify", "/v1/gallery/{personId}", "/v1/jobs", "/v1/jobs/{id}/events", "/v1/loops", "/v1/loops/{name}/run", "/v1/debug/fault"]

layer(testServer(), { timeout: 120_000, excludeTestServices: true })("API documentation", (it) => {
  it.effect("/openapi.json is valid OpenAPI and covers every route", () =>
    Effect.gen(function*() {
      const { status, body } = yield* send(HttpClientRequest.get("/openapi.json"))
      assert.strictEqual(status, 200)
      const validator = new Validator()
      const result = yield* Effect.promise(() => validator.validate(body))
      assert.isTrue(result.valid, JSON.stringify(result.errors))
      const paths = Object.keys(body.paths as object)
      for (const route of routes) assert.include(paths, route)
      const ocr = (body.paths as Record<string, { post: { requestBody: { content: object }; responses: object } }>)["/v1/ocr"]!.post
      assert.includeMembers(Object.keys(ocr.requestBody.content), ["image/png", "multipart/form-data"])
      assert.includeMembers(Object.keys(ocr.responses), ["200", "400", "413", "415", "422", "503", "504"])
    }))

  it.effect.skipIf(browser === undefined)("/docs renders in headless Chromium and lists the OCR endpoint", () =>
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const address = server.address._tag === "TcpAddress" ? server.address : undefined
      assert.isDefined(address)
      const text = yield* Effect.acquireUseRelease(
        Effect.promise(() => chromium.launch({
          executablePath: browser!,
          args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
        })),
        (instance) => Effect.promise(async () => {
          const page = await instance.newPage()
          await page.goto(`http://127.0.0.1:${address!.port}/docs`)
          await page.getByText("/v1/ocr").first().waitFor({ timeout: 30_000 })
          return page.locator("body").innerText()
        }),
        (instance) => Effect.promise(() => instance.close())
      )
      assert.include(text, "/v1/ocr")
      assert.include(text, "inferd")
    }), 90_000)
})
