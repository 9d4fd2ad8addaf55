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

interface Schema { readonly [key: string]: unknown; readonly type?: string; readonly properties?: Record<string, Schema>; readonly examples?: ReadonlyArray<unknown>; readonly anyOf?: ReadonlyArray<{ readonly $ref?: string }> }
interface Operation {
  readonly parameters: ReadonlyArray<{ readonly name: string; readonly schema: Schema; readonly example?: unknown }>
  readonly security: ReadonlyArray<Record<string, ReadonlyArray<string>>>
  readonly requestBody?: { readonly content: Record<string, { readonly schema: Schema }> }
  readonly responses: Record<string, { readonly headers?: Record<string, unknown>; readonly content?: Record<string, { readonly schema: Schema }> } | undefined>
}
interface Spec {
  readonly paths: Record<string, Record<string, Operation | undefined>>
  readonly components: { readonly schemas: Record<string, Schema | undefined>; readonly securitySchemes: Record<string, unknown> }
}

const routes = ["/status", "/health/live", "/health/ready", "/metrics", "/v1/ocr", "/v1/audio/analyze", "/v1/faces/detect", "/v1/faces/verify", "/v1/gallery/{personId}", "/v1/jobs", "/v1/jobs/{id}/events", "/v1/loops", "/v1/loops/{name}/run", "/v1/debug/fault"]

const token = "docs-test-token"

layer(testServer({ config: { INFERD_API_TOKEN: token } }), { timeout: 120_000, excludeTestServices: true })("API documentation", (it) => {
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

  it.effect("/openapi.json says what the daemon does: types, security, every answer with its headers, bodies, examples", () =>
    Effect.gen(function*() {
      const { body } = yield* send(HttpClientRequest.get("/openapi.json"))
      const spec = body as unknown as Spec
      const op = (path: string, method: string) => spec.paths[path]![method]!
      // Options as generated clients should see them.
      const param = (path: string, method: string, name: string) => op(path, method).parameters.find((p) => p.name === name)!
      assert.deepInclude(param("/v1/ocr", "post", "timeoutMs").schema, { type: "integer", minimum: 1 })
      assert.deepInclude(param("/v1/ocr", "post", "async").schema, { type: "boolean" })
      assert.deepInclude(param("/v1/audio/analyze", "post", "threshold").schema, { type: "number", minimum: 0.01, maximum: 0.99 })
      assert.deepInclude(param("/v1/gallery/{personId}", "put", "personId").schema, { pattern: "^[A-Za-z0-9._-]{1,64}$" })
      // The bearer scheme on every /v1 operation; open routes say so.
      assert.deepStrictEqual(spec.components.securitySchemes["bearer"], { type: "http", scheme: "bearer", description: "The value of `INFERD_API_TOKEN`, when the daemon has one" })
      for (const [path, methods] of Object.entries(spec.paths)) {
        for (const [method, operation] of Object.entries(methods)) {
          if (operation === undefined) continue
          assert.deepStrictEqual(operation.security, path.startsWith("/v1/") ? [{ bearer: [] }] : [], `${method} ${path}`)
          if (path.startsWith("/v1/")) assert.property(operation.responses, "401", `${method} ${path}`)
          assert.property(operation.responses, "405", `${method} ${path}`)
          for (const [status, header] of [["202", "Location"], ["401", "WWW-Authenticate"], ["405", "Allow"], ["503", "Retry-After"]] as const) {
            if (operation.responses[status] !== undefined) assert.property(operation.responses[status]!.headers ?? {}, header, `${method} ${path} ${status}`)
          }
        }
      }
      // ?async=true answers 202 wherever it is offered.
      for (const path of ["/v1/ocr", "/v1/faces/detect", "/v1/faces/embed", "/v1/audio/analyze", "/v1/jobs"]) assert.property(op(path, "post").responses, "202", path)
      // Bodies as the server reads them.
      const content = (path: string, method: string) => op(path, method).requestBody!.content
      assert.deepStrictEqual(Object.keys(content("/v1/faces/verify", "post")), ["multipart/form-data"])
      assert.deepStrictEqual(Object.keys(content("/v1/faces/verify", "post")["multipart/form-data"]!.schema.properties!), ["a", "b"])
      assert.strictEqual(content("/v1/gallery/{personId}", "put")["multipart/form-data"]!.schema.properties!["file"]!.type, "array")
      assert.includeMembers(Object.keys(content("/v1/jobs", "post")), ["application/pdf", "audio/wav", "image/png", "application/octet-stream", "multipart/form-data"])
      assert.includeMembers(Object.keys(content("/v1/ocr", "post")), ["application/pdf", "application/octet-stream"])
      // Named answers with real examples; a job's result typed by its kind.
      for (const name of ["OcrResult", "Detection", "Embedding", "Verification", "Identification", "AudioAnalysis", "Status", "Accepted", "OcrJob", "JobList"]) {
        assert.isArray(spec.components.schemas[name]?.examples, name)
      }
      assert.deepStrictEqual(op("/v1/ocr", "post").responses["200"]!.content!["application/json"]!.schema, { $ref: "#/components/schemas/OcrResult" })
      assert.deepStrictEqual((spec.components.schemas["Job"]!.anyOf ?? []).map((s) => s.$ref), ["OcrJob", "FaceDetectionJob", "FaceEmbeddingJob", "AudioJob"].map((n) => `#/components/schemas/${n}`))
      assert.deepStrictEqual(op("/v1/jobs/{id}/events", "get").responses["200"]!.content!["text/event-stream"]!.schema["x-event-data"], { $ref: "#/components/schemas/Job" })
      assert.notProperty(spec.components.schemas, "HttpApiDecodeError")
      // /docs prefills parameter examples: typical values in range, never the least one (timeoutMs=1 would time out).
      const example = (path: string, name: string) => op(path, "post").parameters.find((p) => p.name === name)?.example
      assert.deepStrictEqual([example("/v1/ocr", "timeoutMs"), example("/v1/ocr", "dpi"), example("/v1/ocr", "psm"), example("/v1/audio/analyze", "minSpeechMs")], [30_000, 300, 3, 250])
      for (const [path, methods] of Object.entries(spec.paths)) {
        for (const parameter of Object.values(methods).flatMap((operation) => operation?.parameters ?? [])) {
          const { minimum, maximum } = parameter.schema as { minimum?: number; maximum?: number }
          if (typeof parameter.example !== "number") continue
          assert.isAtLeast(parameter.example, minimum ?? -Infinity, `${path} ${parameter.name}`)
          assert.isAtMost(parameter.example, maximum ?? Infinity, `${path} ${parameter.name}`)
        }
      }
    }))

  it.effect.skipIf(browser === undefined)("/docs renders in headless Chromium, and its try-it sends an upload with the bearer token", () =>
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const address = server.address._tag === "TcpAddress" ? server.address : undefined
      assert.isDefined(address)
      const seen = yield* Effect.acquireUseRelease(
        Effect.promise(() => chromium.launch({
          executablePath: browser!,
          args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
        })),
        (instance) => Effect.promise(async () => {
          const page = await instance.newPage({ viewport: { width: 1400, height: 1000 } })
          await page.goto(`http://127.0.0.1:${address!.port}/docs`)
          await page.getByText("/v1/ocr").first().waitFor({ timeout: 30_000 })
          const listed = await page.locator("body").innerText()
          // The OCR operation's "Test Request" client: the token field the bearer scheme offers, a file as the body.
          await page.getByRole("button", { name: "ocr" }).first().click()
          await page.getByText("Read the text of an image or a PDF").first().click()
          await page.getByRole("button", { name: /Test Request\s*\(post \/v1\/ocr\)/ }).click()
          const client = page.locator("[role=dialog]")
          await client.getByRole("button", { name: /Auth Type/ }).click()
          await page.getByRole("option", { name: "bearer" }).click()
          await client.getByPlaceholder("Token").fill(token)
          const [chooser] = await Promise.all([page.waitForEvent("filechooser"), client.getByRole("button", { name: /Upload File/ }).click()])
          await chooser.setFiles(new URL("../fixtures/images/testocr.png", import.meta.url).pathname)
          await client.getByRole("button", { name: /Send Request|Send post request/ }).first().click()
          await client.getByText("200 OK").waitFor({ timeout: 60_000 })
          return { listed, answered: await client.innerText() }
        }),
        (instance) => Effect.promise(() => instance.close())
      )
      assert.include(seen.listed, "/v1/ocr")
      assert.include(seen.listed, "inferd")
      assert.include(seen.answered, "200 OK")
      assert.include(seen.answered, "This is a lot of 12 point text")
    }), 120_000)
})
