/**
 * The edges a user hits, against the built daemon on a real socket: authentication bound to routes whatever
 * the spelling of the path, typed one-line errors for malformed requests, 405 with `Allow`, uploads over the
 * limit answered (chunked, or announced with `Expect: 100-continue`) rather than reset, a second daemon on a
 * busy port, readiness that turns 503 the moment SIGTERM starts the drain, and the access log.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Daemon, raw, ready, startDaemon } from "../support/daemon.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))
const png = fixture("testocr.png")
const token = "edge-test-token"
const auth = { authorization: `Bearer ${token}` }
const maxBody = 1_000_000

let daemon: Daemon

beforeAll(async () => {
  daemon = await startDaemon({
    INFERD_API_TOKEN: token,
    INFERD_ENABLE_FAULTS: "1",
    INFERD_MAX_BODY: String(maxBody),
    INFERD_WORKERS: "1",
    INFERD_DATA_DIR: mkdtempSync(join(tmpdir(), "inferd-edges-data-")),
    INFERD_INBOX: mkdtempSync(join(tmpdir(), "inferd-edges-inbox-"))
  })
  expect(await ready(daemon), daemon.log()).toBe(true)
}, 120_000)

afterAll(async () => {
  daemon.child.kill("SIGTERM")
  await daemon.exit
})

const ocr = (path: string, headers: Record<string, string> = {}) =>
  raw(daemon.base, "POST", path, { headers: { "content-type": "image/png", ...headers }, body: png })

describe("authentication is bound to the routes", () => {
  // Spellings the router takes for a protected route: each must meet the token check.
  const accepted = ["/v1/ocr", "/V1/ocr", "//v1/ocr", "/%761/ocr", "/v%31/ocr", "/V1/OCR", "/v1/ocr/", "/v1//ocr", "/v1/ocr?", "/v1/ocr;x"]
  // Spellings it does not route at all.
  const unrouted = ["/x/../v1/ocr", "/./v1/ocr"]

  it("every spelling of POST /v1/ocr the router accepts is 401 without the token and 200 with it", async () => {
    for (const path of accepted) {
      const refused = await ocr(path)
      expect(refused.status, path).toBe(401)
      expect(refused.body._tag, path).toBe("Unauthorized")
      expect(refused.headers["www-authenticate"], path).toBe("Bearer")
      const wrong = await ocr(path, { authorization: "Bearer not-the-token" })
      expect(wrong.status, path).toBe(401)
    }
    // With the token, each spelling reaches the handler; one real OCR is enough to show the rest get there.
    expect((await ocr("/V1/OCR", auth)).body.text).toContain("This is a lot of 12 point text")
    for (const path of accepted) expect((await ocr(`${path}${path.includes("?") ? "" : "?"}timeoutMs=abc`, auth)).status, path).toBe(400)
  }, 60_000)

  it("spellings the router does not route are 404 with or without the token", async () => {
    for (const path of unrouted) {
      expect((await ocr(path)).status, path).toBe(404)
      expect((await ocr(path, auth)).body._tag, path).toBe("NotFound")
    }
  })

  it("GET routes too: /V1/gallery, /%761/loops, /V1/LOOPS/ need the token; health, status and docs do not", async () => {
    for (const path of ["/V1/gallery", "/%761/loops", "/V1/LOOPS/", "/v1/jobs/nope"]) {
      expect((await raw(daemon.base, "GET", path)).status, path).toBe(401)
      expect((await raw(daemon.base, "GET", path, { headers: auth })).status, path).not.toBe(401)
    }
    for (const path of ["/status", "/health/live", "/health/ready", "/metrics", "/openapi.json"]) {
      expect((await raw(daemon.base, "GET", path)).status, path).toBe(200)
    }
  })
})

describe("every error is typed, with a one-line message", () => {
  const cases: ReadonlyArray<readonly [string, string, string, Record<string, string>, Uint8Array | undefined, number, string, string?]> = [
    ["?timeoutMs=abc", "POST", "/v1/ocr?timeoutMs=abc", { "content-type": "image/png" }, png, 400, "MalformedRequest", "timeoutMs"],
    ["?timeoutMs=-5", "POST", "/v1/ocr?timeoutMs=-5", { "content-type": "image/png" }, png, 400, "MalformedRequest", "timeoutMs"],
    ["?async=yes", "POST", "/v1/ocr?async=yes", { "content-type": "image/png" }, png, 400, "MalformedRequest", "async"],
    ["?threshold=1.5", "POST", "/v1/faces/detect?threshold=1.5", { "content-type": "image/png" }, png, 400, "MalformedRequest", "threshold"],
    ["?minSpeechMs=x", "POST", "/v1/audio/analyze?minSpeechMs=x", { "content-type": "audio/wav" }, png, 400, "MalformedRequest", "minSpeechMs"],
    ["?kind=nonsense", "POST", "/v1/jobs?kind=nonsense", { "content-type": "image/png" }, png, 400, "MalformedRequest", "kind"],
    ["?threshhold=0.9 (a typo)", "POST", "/v1/faces/detect?threshhold=0.9", { "content-type": "image/png" }, png, 400, "MalformedRequest", "threshhold"],
    ["an option the route has not", "POST", "/v1/ocr?threshold=0.5", { "content-type": "image/png" }, png, 400, "MalformedRequest", "threshold"],
    ["bad JSON", "POST", "/v1/debug/fault", { "content-type": "application/json" }, new TextEncoder().encode("{nope"), 400, "MalformedRequest"],
    ["JSON of the wrong shape", "POST", "/v1/debug/fault", { "content-type": "application/json" }, new TextEncoder().encode("{\"kind\":\"boom\"}"), 400, "MalformedRequest", "kind"],
    ["multipart without a boundary (OCR)", "POST", "/v1/ocr", { "content-type": "multipart/form-data" }, png, 400, "MalformedRequest"],
    ["multipart without a boundary (audio)", "POST", "/v1/audio/analyze", { "content-type": "multipart/form-data" }, png, 400, "MalformedRequest"],
    ["multipart without a boundary (gallery)", "PUT", "/v1/gallery/alice", { "content-type": "multipart/form-data" }, png, 400, "MalformedRequest"],
    ["text/plain", "POST", "/v1/ocr", { "content-type": "text/plain" }, png, 415, "UnsupportedMediaType"],
    ["an empty body", "POST", "/v1/ocr", { "content-type": "image/png" }, new Uint8Array(0), 400, "MalformedRequest"],
    ["not an image", "POST", "/v1/ocr", { "content-type": "image/png" }, new TextEncoder().encode("hello"), 422, "ImageUndecodable"],
    ["a body over the limit", "POST", "/v1/ocr", { "content-type": "image/png" }, new Uint8Array(2 * maxBody), 413, "PayloadTooLarge"],
    ["GET on a POST route", "GET", "/v1/ocr", {}, undefined, 405, "MethodNotAllowed"],
    ["DELETE /status", "DELETE", "/status", {}, undefined, 405, "MethodNotAllowed"],
    ["an unknown route", "GET", "/v2/nothing", {}, undefined, 404, "NotFound"],
    ["an unknown loop", "POST", "/v1/loops/nope/run", {}, undefined, 404, "LoopNotFound"],
    ["an unknown job", "GET", "/v1/jobs/nope", {}, undefined, 404, "JobNotFound"]
  ]
  for (const [name, method, path, headers, body, status, tag, parameter] of cases) {
    it(`${name}: ${status} ${tag}`, async () => {
      const reply = await raw(daemon.base, method, path, { headers: { ...auth, ...headers }, ...(body === undefined ? {} : { body }) })
      expect(reply.status, JSON.stringify(reply.body)).toBe(status)
      expect(reply.body._tag).toBe(tag)
      expect(typeof reply.body.message).toBe("string")
      expect(reply.body.message as string).not.toContain("\n")
      if (parameter !== undefined) {
        expect(reply.body.parameter).toBe(parameter)
        expect(reply.body.message as string).toContain(parameter)
      }
    })
  }

  it("a 405 says which methods the path takes, in `Allow` and in the body", async () => {
    const reply = await raw(daemon.base, "PUT", "/v1/loops", { headers: auth })
    expect(reply.status).toBe(405)
    expect(reply.headers.allow).toBe("GET, HEAD")
    expect(reply.body.allow).toEqual(["GET", "HEAD"])
  })
})

describe("uploads", () => {
  it("application/octet-stream and a body with no Content-Type are read by their magic bytes", async () => {
    const typed = await raw(daemon.base, "POST", "/v1/ocr", { headers: { ...auth, "content-type": "application/octet-stream" }, body: png })
    expect(typed.body.text).toContain("This is a lot of 12 point text")
    const untyped = await raw(daemon.base, "POST", "/v1/ocr", { headers: auth, body: png })
    expect(untyped.status, JSON.stringify(untyped.body)).toBe(200)
  }, 30_000)

  it("a chunked upload twice the limit is answered 413, not reset, and the daemon serves on", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(7)
    const reply = await raw(daemon.base, "POST", "/v1/ocr", {
      headers: { ...auth, "content-type": "image/png", "transfer-encoding": "chunked" },
      chunks: Array.from({ length: Math.ceil((2 * maxBody) / chunk.byteLength) }, () => chunk)
    })
    expect(reply.status).toBe(413)
    expect(reply.body._tag).toBe("PayloadTooLarge")
    expect((await ocr("/v1/ocr", auth)).status).toBe(200)
  }, 30_000)

  it("Expect: 100-continue over the limit is answered 413 instead of 100; within it, 100 then the result", async () => {
    const over = await raw(daemon.base, "POST", "/v1/ocr", {
      headers: { ...auth, "content-type": "image/png", "content-length": String(2 * maxBody), expect: "100-continue" },
      body: new Uint8Array(2 * maxBody),
      waitForContinue: true
    })
    expect(over.status).toBe(413)
    expect(over.continued).toBe(false)
    const within = await raw(daemon.base, "POST", "/v1/ocr", {
      headers: { ...auth, "content-type": "image/png", "content-length": String(png.byteLength), expect: "100-continue" },
      body: png,
      waitForContinue: true
    })
    expect(within.continued).toBe(true)
    expect(within.status).toBe(200)
  }, 30_000)
})

describe("the access log", () => {
  it("has one line per request with its route template (whatever the spelling), status, time, request id and bytes", async () => {
    await ocr("/V1//OCR", { ...auth, "x-request-id": "edge-log-ocr" })
    const line = daemon.log().split("\n").find((l) => l.includes("edge-log-ocr") && l.includes("\"status\""))
    expect(line, daemon.log().slice(-2000)).toBeDefined()
    const entry = JSON.parse(line!) as Record<string, unknown>
    const fields = entry.annotations as Record<string, unknown>
    expect(entry.logLevel).toBe("INFO")
    expect(fields.route).toBe("/v1/ocr")
    expect(fields.method).toBe("POST")
    expect(fields.status).toBe(200)
    expect(fields.bytesIn).toBe(png.byteLength)
    expect(typeof fields.ms).toBe("number")
  }, 30_000)

  it("a 500 leaves a warning", async () => {
    const crash = await raw(daemon.base, "POST", "/v1/debug/fault", {
      headers: { ...auth, "content-type": "application/json", "x-request-id": "edge-log-crash" },
      body: new TextEncoder().encode(JSON.stringify({ kind: "exit" }))
    })
    expect(crash.status).toBe(500)
    expect(crash.body._tag).toBe("WorkerCrashed")
    const line = daemon.log().split("\n").find((l) => l.includes("edge-log-crash") && l.includes("\"status\""))
    expect(JSON.parse(line!).logLevel).toBe("WARN")
  }, 60_000)
})

describe("a second daemon on the same port", () => {
  it("stops at once with one plain line, before it starts a loop or touches its data folder", async () => {
    const port = new URL(daemon.base).port
    const inbox = join(mkdtempSync(join(tmpdir(), "inferd-edges-second-")), "inbox")
    const second = await startDaemon({ PORT: port, INFERD_INBOX: inbox, INFERD_DATA_DIR: join(inbox, "..", "data") })
    expect(await second.exit).toBe(1)
    expect(second.log()).toContain(`127.0.0.1:${port} is already in use`)
    expect(second.log()).not.toContain("inbox: watching")
    expect(existsSync(inbox)).toBe(false)
    expect(existsSync(join(inbox, "..", "data"))).toBe(false)
  }, 60_000)
})

describe("SIGTERM with OCR in flight", () => {
  it("turns /health/ready 503 (draining) at once, while the requests in flight still finish 200 and the daemon exits 0", async () => {
    const draining = await startDaemon({ INFERD_WORKERS: "1", INFERD_SHUTDOWN_GRACE: "90 seconds", INFERD_INBOX: mkdtempSync(join(tmpdir(), "inferd-edges-drain-")) })
    try {
      expect(await ready(draining), draining.log()).toBe(true)
      const inFlight = Array.from({ length: 4 }, () => raw(draining.base, "POST", "/v1/ocr", { headers: { "content-type": "image/png" }, body: png }))
      // Wait until the pool is busy, so the SIGTERM lands in the middle of the work.
      while (((await raw(draining.base, "GET", "/status")).body.pool as { busy: number }).busy === 0) await new Promise((r) => setTimeout(r, 20))
      const signalled = performance.now()
      draining.child.kill("SIGTERM")
      let readiness = await raw(draining.base, "GET", "/health/ready")
      while (readiness.status === 200) readiness = await raw(draining.base, "GET", "/health/ready")
      const after = performance.now() - signalled
      expect(readiness.status).toBe(503)
      expect(readiness.body._tag).toBe("NotReady")
      expect(readiness.body.reasons as Array<string>).toContainEqual(expect.stringContaining("draining"))
      expect((await raw(draining.base, "GET", "/status")).body.status).toBe("draining")
      const answers = await Promise.all(inFlight)
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      console.log(`readiness turned 503 ${after.toFixed(0)} ms after SIGTERM; in-flight answers: ${answers.map((a) => a.status).join(", ")}`)
      expect(await draining.exit).toBe(0)
    } finally {
      draining.child.kill("SIGKILL")
    }
  }, 120_000)
})
