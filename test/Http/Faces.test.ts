import { FileSystem, HttpApi, HttpApiBuilder, HttpClientRequest, OpenApi } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import sharp from "sharp"
import { FacesApi, GalleryApi } from "../../src/Http/FacesApi.js"
import * as FacesHandlers from "../../src/Http/FacesHandlers.js"
import * as GalleryHandlers from "../../src/Http/GalleryHandlers.js"
import * as Upload from "../../src/Http/Upload.js"
import * as Gallery from "../../src/Layers/Gallery.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import * as YuNet from "../../src/Workers/YuNet.js"
import { embeddedJobs, post, send } from "../support/server.js"
import { poolOptions } from "../support/pool.js"
import * as shared from "../support/shared.js"

const MODELS = fileURLToPath(new URL("../../../shared/data/models", import.meta.url))
const PHOTOS = fileURLToPath(new URL("../../../shared/data/images/faces", import.meta.url))
const hasShared = shared.has("faces over HTTP", ...[YuNet.FILE, "MobileFaceNet.onnx"].map((f) => `data/models/${f}`), "data/images/faces")
// Case tables are built at load time: without ../shared they stay empty, and their tests are skipped.
const photo = (name: string) => (hasShared ? new Uint8Array(readFileSync(`${PHOTOS}/${name}`)) : new Uint8Array(0))

// The groups on an API of their own: the handlers are typed against their groups, so any API holding them will do.
class TestApi extends HttpApi.make("test").add(FacesApi).add(GalleryApi) {}

const server = (modelsDir: string) =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(HttpApiBuilder.api(TestApi).pipe(
      Layer.provide(HttpApiBuilder.group(TestApi, "faces", FacesHandlers.build)),
      Layer.provide(HttpApiBuilder.group(TestApi, "gallery", GalleryHandlers.build))
    )),
    Layer.provide(Layer.succeed(Upload.Upload, Upload.make({ maxBody: 5_000_000, maxParts: 4 }))),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(embeddedJobs),
    Layer.provide(Layer.scoped(Gallery.Gallery, Effect.gen(function*() {
      const dir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped({ prefix: "inferd-gallery-" })
      return yield* Gallery.make({ dir, threshold: Gallery.DEFAULT_THRESHOLD })
    }))),
    Layer.provide(Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ taskTimeout: Duration.seconds(60), settings: WorkerSettings.forTests({ modelsDir }) })))),
    Layer.provide(NodeContext.layer)
  )

const form = (files: Record<string, Uint8Array>) => {
  const body = new FormData()
  for (const [field, bytes] of Object.entries(files)) body.append(field, new Blob([bytes], { type: "image/jpeg" }), `${field}.jpg`)
  return body
}
const postForm = (path: string, files: Record<string, Uint8Array>) =>
  send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyFormData(form(files))))

/** A 300x200 grey picture: decodes fine, has no face. */
const blank = Effect.promise(() => sharp({ create: { width: 300, height: 200, channels: 3, background: "#888" } }).png().toBuffer()).pipe(
  Effect.map((b) => new Uint8Array(b))
)

interface Face {
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number }
  readonly landmarks?: Record<string, { readonly x: number; readonly y: number }>
  readonly embedding?: ReadonlyArray<number>
  readonly match?: { readonly personId: string; readonly similarity: number } | null
}
const faces = (body: Record<string, unknown>) => [...body.faces as ReadonlyArray<Face>].sort((a, b) => a.box.x - b.box.x)

describe("faces and gallery API", () => {
  it("documents every route, its query and its typed errors in OpenAPI", () => {
    const spec = OpenApi.fromApi(TestApi)
    assert.deepStrictEqual(Object.keys(spec.paths).sort(), [
      "/v1/faces/detect", "/v1/faces/embed", "/v1/faces/identify", "/v1/faces/verify", "/v1/gallery", "/v1/gallery/{personId}"
    ])
    const verify = spec.paths["/v1/faces/verify"]!.post!
    assert.includeMembers(Object.keys(verify.responses), ["200", "400", "413", "415", "422", "500", "503", "504"])
    assert.deepStrictEqual(verify.parameters.map((p) => p.name).sort(), ["async", "minScore", "model", "threshold", "timeoutMs"])
    // Each face option says what it is in /docs.
    assert.match(JSON.stringify(verify.parameters.find((p) => p.name === "threshold")), /cosine similarity for a match/)
    assert.match(JSON.stringify(verify.parameters.find((p) => p.name === "minScore")), /detector score/)
    assert.deepStrictEqual(spec.paths["/v1/faces/detect"]!.post!.parameters.map((p) => p.name).sort(), ["async", "minScore", "model", "timeoutMs"])
    const person = spec.paths["/v1/gallery/{personId}"]!
    assert.deepStrictEqual(person.put!.parameters.map((p) => p.name).sort(), ["async", "face", "minScore", "model", "personId", "timeoutMs"])
    assert.includeMembers(Object.keys(person.get!.responses), ["200", "400", "404"])
    assert.includeMembers(Object.keys(person.delete!.responses), ["204", "400", "404", "500"])
  })
})

describe.skipIf(!hasShared)("faces and gallery over HTTP (real server, real pool, models from ../shared)", () => {
  layer(server(MODELS), { timeout: 120_000, excludeTestServices: true })("with the models", (it) => {
    it.effect("POST /v1/faces/detect finds the faces of a raw JPEG, and of a multipart `file` with the fast model", () =>
      Effect.gen(function*() {
        const raw = yield* post("/v1/faces/detect", photo("two_people.jpg"), "image/jpeg")
        assert.strictEqual(raw.status, 200)
        assert.deepInclude(raw.body, { width: 1126, height: 661 })
        assert.strictEqual(faces(raw.body).length, 2)
        assert.isTrue(faces(raw.body).every((face) => !("embedding" in face)))
        for (const face of faces(raw.body)) {
          assert.deepStrictEqual(Object.keys(face.landmarks!), ["rightEye", "leftEye", "nose", "mouthRight", "mouthLeft"])
          assert.isBelow(face.landmarks!.rightEye!.x, face.landmarks!.leftEye!.x)
        }
        const fast = yield* postForm("/v1/faces/detect?model=fast&minScore=0.85", { file: photo("family5_ultraface19.jpg") })
        assert.strictEqual(fast.status, 200)
        assert.strictEqual(faces(fast.body).length, 5)
        // minScore is honoured: no face of these photos scores 0.99.
        const strict = yield* post("/v1/faces/detect?minScore=0.99", photo("two_people.jpg"), "image/jpeg")
        assert.deepStrictEqual([strict.status, faces(strict.body).length], [200, 0])
      }))

    it.effect("POST /v1/faces/embed answers a 128-number embedding per face", () =>
      Effect.gen(function*() {
        const { body, status } = yield* post("/v1/faces/embed", photo("group4_ultraface2.jpg"), "image/jpeg")
        assert.strictEqual(status, 200)
        assert.strictEqual(faces(body).length, 4)
        assert.isTrue(faces(body).every((face) => face.embedding?.length === 128))
      }))

    it.effect("POST /v1/faces/verify matches two photos of A, not A and B, names the file without a face, and shows the faces it compared", () =>
      Effect.gen(function*() {
        const same = yield* postForm("/v1/faces/verify", { a: photo("obama.jpg"), b: photo("obama2.jpg") })
        assert.strictEqual(same.status, 200)
        assert.deepInclude(same.body, { match: true, threshold: Gallery.DEFAULT_THRESHOLD })
        assert.isAbove(same.body.similarity as number, Gallery.DEFAULT_THRESHOLD)
        const different = yield* postForm("/v1/faces/verify", { a: photo("obama.jpg"), b: photo("biden.jpg") })
        assert.deepInclude(different.body, { match: false, threshold: Gallery.DEFAULT_THRESHOLD })
        assert.isBelow(different.body.similarity as number, 0.3)
        // two_people.jpg has two faces: the largest (B, on the right) is the one compared, and the answer says so.
        const largest = yield* postForm("/v1/faces/verify", { a: photo("two_people.jpg"), b: photo("biden.jpg") })
        assert.deepInclude(largest.body, { match: true })
        const a = largest.body.a as Face
        assert.isAbove(a.box.x, 1126 / 2)
        assert.deepStrictEqual(Object.keys(a).sort(), ["box", "landmarks", "score"])
        // ?threshold= is the match threshold, and is honoured.
        const strict = yield* postForm("/v1/faces/verify?threshold=0.99", { a: photo("obama.jpg"), b: photo("obama2.jpg") })
        assert.deepInclude(strict.body, { match: false, threshold: 0.99, similarity: same.body.similarity })
        const loose = yield* postForm("/v1/faces/verify?threshold=0.01&model=fast", { a: photo("obama.jpg"), b: photo("biden.jpg") })
        assert.deepInclude(loose.body, { threshold: 0.01 })
        assert.strictEqual(loose.body.match, (loose.body.similarity as number) >= 0.01)
        const noFace = yield* postForm("/v1/faces/verify", { a: photo("obama.jpg"), b: yield* blank })
        assert.strictEqual(noFace.status, 422)
        assert.deepInclude(noFace.body, { _tag: "NoFace", field: "b" })
        const missing = yield* postForm("/v1/faces/verify", { a: photo("obama.jpg") })
        assert.strictEqual(missing.status, 400)
        assert.strictEqual(missing.body._tag, "MalformedRequest")
      }))

    it.effect("the gallery enrolls, lists, shows, identifies and removes people", () =>
      Effect.gen(function*() {
        const a = yield* send(HttpClientRequest.put("/v1/gallery/A").pipe(HttpClientRequest.bodyUint8Array(photo("obama.jpg"), "image/jpeg")))
        assert.strictEqual(a.status, 200)
        assert.deepInclude(a.body, { personId: "A", photos: 1 })
        assert.deepStrictEqual((a.body.faces as ReadonlyArray<{ field: string }>).map((f) => f.field), ["body"])
        const b = yield* send(HttpClientRequest.put("/v1/gallery/B").pipe(HttpClientRequest.bodyFormData(form({ one: photo("biden.jpg") }))))
        assert.deepInclude(b.body, { personId: "B", photos: 1 })
        const list = yield* send(HttpClientRequest.get("/v1/gallery"))
        assert.deepStrictEqual((list.body.people as ReadonlyArray<{ personId: string; photos: number }>).map((p) => [p.personId, p.photos]), [["A", 1], ["B", 1]])
        const shownA = yield* send(HttpClientRequest.get("/v1/gallery/A"))
        assert.deepStrictEqual(shownA.body, { personId: "A", photos: 1, enrolledAt: a.body.enrolledAt })
        const both = yield* post("/v1/faces/identify", photo("two_people.jpg"), "image/jpeg")
        assert.strictEqual(both.status, 200)
        assert.deepStrictEqual(faces(both.body).map((face) => face.match?.personId), ["A", "B"])
        assert.strictEqual(both.body.threshold, Gallery.DEFAULT_THRESHOLD)
        assert.isTrue(faces(both.body).every((face) => face.box.width > 0 && face.landmarks !== undefined))
        // ?threshold= is honoured: nobody is that similar.
        const strict = yield* post("/v1/faces/identify?threshold=0.999", photo("two_people.jpg"), "image/jpeg")
        assert.deepStrictEqual(faces(strict.body).map((face) => face.match), [null, null])
        const strangers = yield* post("/v1/faces/identify", photo("group3_ultraface23.jpg"), "image/jpeg")
        assert.deepStrictEqual(faces(strangers.body).map((face) => face.match), [null, null, null])
        const removed = yield* send(HttpClientRequest.del("/v1/gallery/B"))
        assert.strictEqual(removed.status, 204)
        const again = yield* send(HttpClientRequest.del("/v1/gallery/B"))
        assert.strictEqual(again.status, 404)
        assert.deepInclude(again.body, { _tag: "PersonNotFound", personId: "B" })
        const gone = yield* send(HttpClientRequest.get("/v1/gallery/B"))
        assert.deepStrictEqual([gone.status, gone.body._tag], [404, "PersonNotFound"])
        const right = yield* post("/v1/faces/identify", photo("two_people.jpg"), "image/jpeg")
        assert.deepStrictEqual(faces(right.body).map((face) => face.match?.personId ?? null), ["A", null])
      }))

    it.effect("enrolling from several photos keeps one embedding per photo; a photo of several people needs face=largest", () =>
      Effect.gen(function*() {
        const several = yield* send(HttpClientRequest.put("/v1/gallery/D").pipe(
          HttpClientRequest.bodyFormData(form({ one: photo("kit_harington_john1.jpeg"), two: photo("kit_harington_john2.jpeg") }))
        ))
        assert.strictEqual(several.status, 200)
        assert.deepInclude(several.body, { personId: "D", photos: 2 })
        assert.deepInclude((yield* send(HttpClientRequest.get("/v1/gallery/D"))).body, { photos: 2 })
        const crowd = yield* send(HttpClientRequest.put("/v1/gallery/X").pipe(HttpClientRequest.bodyUint8Array(photo("two_people.jpg"), "image/jpeg")))
        assert.strictEqual(crowd.status, 422)
        assert.deepInclude(crowd.body, { _tag: "SeveralFaces", field: "body", faces: 2 })
        assert.match(crowd.body.message as string, /shows 2 faces.*face=largest/)
        assert.strictEqual((yield* send(HttpClientRequest.get("/v1/gallery/X"))).status, 404)
        const largest = yield* send(HttpClientRequest.put("/v1/gallery/X?face=largest").pipe(HttpClientRequest.bodyUint8Array(photo("two_people.jpg"), "image/jpeg")))
        assert.strictEqual(largest.status, 200)
        // The largest face of two_people.jpg is B's, on the right.
        assert.isAbove((largest.body.faces as ReadonlyArray<Face>)[0]!.box.x, 1126 / 2)
        const named = yield* post("/v1/faces/identify", photo("biden.jpg"), "image/jpeg")
        assert.strictEqual(faces(named.body)[0]!.match?.personId, "X")
        yield* send(HttpClientRequest.del("/v1/gallery/X"))
        yield* send(HttpClientRequest.del("/v1/gallery/D"))
      }))

    it.effect("the gallery refuses a bad person id and a photo without a face, and keeps the person unchanged", () =>
      Effect.gen(function*() {
        const bad = yield* send(HttpClientRequest.put("/v1/gallery/no%20spaces").pipe(HttpClientRequest.bodyUint8Array(photo("obama.jpg"), "image/jpeg")))
        assert.strictEqual(bad.status, 400)
        assert.strictEqual(bad.body._tag, "InvalidPersonId")
        const badDelete = yield* send(HttpClientRequest.del(`/v1/gallery/${"x".repeat(65)}`))
        assert.strictEqual(badDelete.status, 400)
        const noFace = yield* send(HttpClientRequest.put("/v1/gallery/C").pipe(HttpClientRequest.bodyFormData(form({ ok: photo("obama2.jpg"), empty: yield* blank }))))
        assert.strictEqual(noFace.status, 422)
        assert.deepInclude(noFace.body, { _tag: "NoFace", field: "empty" })
        const list = yield* send(HttpClientRequest.get("/v1/gallery"))
        assert.isFalse((list.body.people as ReadonlyArray<{ personId: string }>).some((p) => p.personId === "C"))
      }))

    const rejects: ReadonlyArray<readonly [string, string, Uint8Array, string, number, string]> = [
      ["a minScore over 1", "/v1/faces/detect?minScore=2", photo("obama.jpg"), "image/jpeg", 400, "HttpApiDecodeError"],
      ["a match threshold over 1", "/v1/faces/identify?threshold=1.5", photo("obama.jpg"), "image/jpeg", 400, "HttpApiDecodeError"],
      ["an unknown model", "/v1/faces/embed?model=huge", photo("obama.jpg"), "image/jpeg", 400, "HttpApiDecodeError"],
      ["text/plain", "/v1/faces/identify", new TextEncoder().encode("hello"), "text/plain", 415, "UnsupportedMediaType"],
      ["bytes that are no image", "/v1/faces/detect", new Uint8Array(500).fill(9), "image/png", 422, "ImageUndecodable"],
      ["a body over the limit", "/v1/faces/detect", new Uint8Array(6_000_000), "image/jpeg", 413, "PayloadTooLarge"]
    ]
    for (const [what, path, bytes, type, status, tag] of rejects) {
      it.effect(`answers ${status} ${tag} for ${what}`, () =>
        Effect.gen(function*() {
          const response = yield* post(path, bytes, type)
          assert.strictEqual(response.status, status)
          assert.strictEqual(response.body._tag, tag)
          assert.isString(response.body.message)
        }))
    }
  })

  layer(server(fileURLToPath(new URL("../fixtures/no-such-models", import.meta.url))), { timeout: 120_000, excludeTestServices: true })(
    "without the models",
    (it) => {
      it.effect("answers 503 ModelUnavailable naming the file and the command that installs it", () =>
        Effect.gen(function*() {
          const response = yield* post("/v1/faces/detect", photo("obama.jpg"), "image/jpeg")
          assert.strictEqual(response.status, 503)
          assert.deepInclude(response.body, { _tag: "ModelUnavailable", model: YuNet.FILE, fix: "npx inferd models fetch" })
          const enroll = yield* send(HttpClientRequest.put("/v1/gallery/A").pipe(HttpClientRequest.bodyUint8Array(photo("obama.jpg"), "image/jpeg")))
          assert.strictEqual(enroll.status, 503)
          assert.strictEqual(enroll.body._tag, "ModelUnavailable")
        }))
    }
  )
})
