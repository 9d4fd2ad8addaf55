import { Command } from "@effect/cli"
import { FileSystem, HttpClient, HttpClientError, Path } from "@effect/platform"
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as Models from "../src/Layers/Models.js"
import * as shared from "./support/shared.js"
import { fetch, fetchModels, models } from "../src/ModelsFetch.js"

const SHARED = fileURLToPath(new URL("../../shared/data/models", import.meta.url))
const hasShared = shared.has("models fetch", ...Models.FACE_MODELS.map((m) => `data/models/${m.file}`))

type Mode = "good" | "corrupt" | "truncated" | "missing" | "long" | "hang"

/** A loopback server for `--from`: each file served as `modes` says, every request counted. */
const mirror = (modes: Map<string, Mode>) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; requests: Array<string> }>((resume) => {
      const requests: Array<string> = []
      const server = http.createServer((req, res) => {
        const file = decodeURIComponent((req.url ?? "/").slice(1))
        requests.push(file)
        const mode = modes.get(file) ?? "missing"
        if (mode === "hang") return // never answers; the client's deadline must end it
        const local = `${SHARED}/${file.replace(/^models\//, "")}`
        if (mode === "missing" || !existsSync(local)) return res.writeHead(404).end("not found")
        const bytes = readFileSync(local)
        if (mode === "corrupt") bytes[bytes.length >> 1] ^= 0xff
        const body = mode === "truncated" ? bytes.subarray(0, bytes.length >> 1) : mode === "long" ? Buffer.concat([bytes, bytes]) : bytes
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(body)
      })
      server.listen(0, "127.0.0.1", () => void resume(Effect.succeed({ server, requests })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ requests, server }) => ({ requests, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/models` })))

const all = (mode: Mode) => new Map(Models.FACE_MODELS.map((m) => [`models/${m.file}`, mode]))

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex")

const Env = Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici)

describe.skipIf(!hasShared)("models fetch (loopback mirror of ../shared/data/models)", () => {
  it.scoped("installs every file with its pinned sum, then skips them all on a second run", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = path.join(yield* fs.makeTempDirectoryScoped(), "models")
      const { base, requests } = yield* mirror(all("good"))
      const first = yield* fetchModels({ dir, from: base })
      assert.deepStrictEqual(first.map((r) => [r.file, r.result]), Models.FACE_MODELS.map((m) => [m.file, "installed"]))
      for (const model of Models.FACE_MODELS) assert.strictEqual(sha(path.join(dir, model.file)), model.sha256)
      assert.deepStrictEqual((yield* fs.readDirectory(dir)).sort(), Models.FACE_MODELS.map((m) => m.file).sort())
      assert.strictEqual(requests.length, 2)
      const second = yield* fetchModels({ dir, from: base })
      assert.deepStrictEqual(second.map((r) => r.result), ["skipped", "skipped"])
      assert.strictEqual(requests.length, 2)
      const status = yield* Effect.flatMap(Models.Models, (registry) => registry.status(dir)).pipe(Effect.provide(Models.layer))
      assert.deepStrictEqual(status.map((s) => s.state), ["present", "present"])
    }).pipe(Effect.provide(Env)))

  it.scoped("refuses corrupt, truncated, over-long and missing files, leaving nothing under a final name", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const [yunet, mobile] = Models.FACE_MODELS.map((m) => m.file)
      const { base } = yield* mirror(new Map<string, Mode>([[`models/${yunet}`, "truncated"], [`models/${mobile}`, "corrupt"]]))
      const results = yield* fetchModels({ dir, from: base })
      assert.deepStrictEqual(results.map((r) => r.result), ["failed", "failed"])
      assert.match(results[0]!.detail, /118911 bytes, expected 237823/)
      assert.match(results[1]!.detail, /^sha256 [0-9a-f]{64}, expected b7120c09/)
      assert.deepStrictEqual(yield* fs.readDirectory(dir), [])
      const { base: missing } = yield* mirror(new Map<string, Mode>([[`models/${yunet}`, "missing"]]))
      const [notFound] = yield* fetchModels({ dir, from: missing, models: [Models.FACE_MODELS[0]!] })
      assert.match(notFound!.detail, /HTTP 404/)
      const { base: long } = yield* mirror(new Map([[`models/${yunet}`, "long"]]))
      const [tooLong] = yield* fetchModels({ dir, from: long, models: [Models.FACE_MODELS[0]!] })
      assert.deepInclude(tooLong, { result: "failed", detail: "more than the expected 237823 bytes" })
      assert.deepStrictEqual(yield* fs.readDirectory(dir), [])
    }).pipe(Effect.provide(Env)))

  // Live: the deadline must pass in real time.
  it.scopedLive("replaces a damaged file, gives up on a server that hangs, and cleans a killed run's leftovers", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const [yunet, mobile] = Models.FACE_MODELS.map((m) => m.file)
      yield* fs.writeFileString(path.join(dir, yunet!), "damaged")
      yield* fs.writeFileString(path.join(dir, `${yunet}.download-1234`), "left by a killed run")
      const { base } = yield* mirror(new Map<string, Mode>([[`models/${yunet}`, "good"], [`models/${mobile}`, "hang"]]))
      const [replaced] = yield* fetchModels({ dir, from: base, models: Models.FACE_MODELS.slice(0, 1) })
      assert.deepInclude(replaced!, { result: "installed" })
      assert.match(replaced!.detail, /replaced a file with 7 bytes/)
      // The deadline on its own: under load, 300 ms sometimes ended the real download above too.
      const [hung] = yield* fetchModels({ dir, from: base, timeout: "300 millis", models: Models.FACE_MODELS.slice(1, 2) })
      assert.deepInclude(hung!, { result: "failed", detail: "no complete file within 300ms" })
      assert.deepStrictEqual(yield* fs.readDirectory(dir), [yunet])
      assert.strictEqual(sha(path.join(dir, yunet!)), Models.FACE_MODELS[0]!.sha256)
    }).pipe(Effect.provide(Env)))

  it.scoped("the `models fetch` command succeeds when all files are in place and fails when one is not", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const cli = Command.run(Command.make("inferd").pipe(Command.withSubcommands([models])), { name: "inferd", version: "test" })
      const partial = new Map(all("good"))
      partial.set(`models/${Models.FACE_MODELS[1]!.file}`, "missing")
      const { base: bad } = yield* mirror(partial)
      const failed = yield* Effect.exit(cli(["node", "inferd", "models", "fetch", "--from", bad, "--dir", dir]))
      assert.isTrue(Exit.isFailure(failed))
      assert.match(String(Exit.isFailure(failed) ? failed.cause : ""), /1 of 2 model files failed: MobileFaceNet.onnx/)
      const { base: good } = yield* mirror(all("good"))
      const ok = yield* Effect.exit(cli(["node", "inferd", "models", "fetch", "--from", good, "--dir", dir]))
      assert.isTrue(Exit.isSuccess(ok))
      assert.deepStrictEqual((yield* fs.readDirectory(dir)).sort(), Models.FACE_MODELS.map((m) => m.file).sort())
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("models fetch without the network", () => {
  // Every request fails as undici's does on a machine without DNS.
  const Offline = Layer.succeed(HttpClient.HttpClient, HttpClient.make((request) =>
    Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(`getaddrinfo ENOTFOUND ${new URL(request.url).host}`) }))))
  const cli = Command.run(Command.make("inferd").pipe(Command.withSubcommands([Command.make("models").pipe(Command.withSubcommands([fetch]))])), { name: "inferd", version: "test" })

  it.scoped("names the host it could not reach and suggests --from", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const results = yield* fetchModels({ dir })
      assert.deepStrictEqual(results.map((r) => [r.result, r.unreachable]), Models.FACE_MODELS.map(() => ["failed", "raw.githubusercontent.com"]))
      assert.strictEqual(results[0]!.detail, "cannot reach raw.githubusercontent.com (getaddrinfo ENOTFOUND raw.githubusercontent.com)")
      const failed = (args: ReadonlyArray<string>) =>
        Effect.flip(cli(["node", "inferd", "models", "fetch", "--dir", dir, ...args])).pipe(
          Effect.flatMap((error) => error._tag === "ModelsFetchFailed" ? Effect.succeed(error.message) : Effect.die(error))
        )
      assert.match(yield* failed([]), /raw\.githubusercontent\.com could not be reached: .* run `inferd models fetch --from BASE_URL`/)
      // With --from the mirror itself is what could not be reached; --from is not suggested again.
      assert.strictEqual(yield* failed(["--from", "http://mirror.example/models"]), "2 of 2 model files failed: yunet_s_dynamic.onnx, MobileFaceNet.onnx")
    }).pipe(Effect.provide(Layer.merge(NodeContext.layer, Offline))))
})
