import { FileSystem, HttpApi, HttpApiBuilder, HttpClientRequest, OpenApi } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import sharp from "sharp"
import { Detection, Embedding, Enrolment, FacesApi, GalleryApi, Identification, NoFace, SeveralFaces, Verification } from "../../src/Http/FacesApi.js"
import { MalformedRequest } from "../../src/Http/Upload.js"
import * as FacesHandlers from "../../src/Http/FacesHandlers.js"
import * as GalleryHandlers from "../../src/Http/GalleryHandlers.js"
import * as Upload from "../../src/Http/Upload.js"
import * as Gallery from "../../src/Layers/Gallery.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import * as YuNet from "../../src/Workers/YuNet.js"
import { answer, clientOf, decodeAs } from "../support/client.js"
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

/** A refusal, as one of the errors these routes declare. */
const refusal = decodeAs(Schema.Union(NoFace, SeveralFaces, MalformedRequest, Gallery.InvalidPersonId, Gallery.PersonNotFound))

/** Faces left to right. */
const faces = <F extends { readonly box: { readonly x: number } }>(body: { readonly faces: ReadonlyArray<F> }) =>
  [...body.faces].sort((a, b) => a.box.x - b.box.x)

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
        const detect = (query: string, bytes: Uint8Array) => Effect.flatMap(post(`/v1/faces/detect${query}`, bytes, "image/jpeg"), answer(Detection))
        const raw = yield* detect("", photo("two_people.jpg"))
        assert.deepInclude(raw, { width: 1126, height: 661 })
        assert.strictEqual(faces(raw).length, 2)
        assert.isTrue(faces(raw).every((face) => !("embedding" in face)))
        for (const face of faces(raw)) {
          assert.deepStrictEqual(Object.keys(face.landmarks), ["rightEye", "leftEye", "nose", "mouthRight", "mouthLeft"])
          assert.isBelow(face.landmarks.rightEye.x, face.landmarks.leftEye.x)
        }
        const fast = yield* Effect.flatMap(postForm("/v1/faces/detect?model=fast&minScore=0.85", { file: photo("family5_ultraface19.jpg") }), answer(Detection))
        assert.strictEqual(faces(fast).length, 5)
        // minScore is honoured: no face of these photos scores 0.99.
        assert.strictEqual(faces(yield* detect("?minScore=0.99", photo("two_people.jpg"))).length, 0)
      }))

    it.effect("POST /v1/faces/embed answers a 128-number embedding per face", () =>
      Effect.gen(function*() {
        const body = yield* Effect.flatMap(post("/v1/faces/embed", photo("group4_ultraface2.jpg"), "image/jpeg"), answer(Embedding))
        assert.strictEqual(faces(body).length, 4)
        assert.isTrue(faces(body).every((face) => face.embedding?.length === 128))
      }))

    it.effect("POST /v1/faces/verify matches two photos of A, not A and B, names the file without a face, and shows the faces it compared", () =>
      Effect.gen(function*() {
        const verify = (query: string, files: Record<string, Uint8Array>) => Effect.flatMap(postForm(`/v1/faces/verify${query}`, files), answer(Verification))
        const same = yield* verify("", { a: photo("obama.jpg"), b: photo("obama2.jpg") })
        assert.deepInclude(same, { match: true, threshold: Gallery.DEFAULT_THRESHOLD })
        assert.isAbove(same.similarity, Gallery.DEFAULT_THRESHOLD)
        const different = yield* verify("", { a: photo("obama.jpg"), b: photo("biden.jpg") })
        assert.deepInclude(different, { match: false, threshold: Gallery.DEFAULT_THRESHOLD })
        assert.isBelow(different.similarity, 0.3)
        // two_people.jpg has two faces: the largest (B, on the right) is the one compared, and the answer says so.
        const largest = yield* verify("", { a: photo("two_people.jpg"), b: photo("biden.jpg") })
        assert.deepInclude(largest, { match: true })
        assert.isAbove(largest.a.box.x, 1126 / 2)
        assert.deepStrictEqual(Object.keys(largest.a).sort(), ["box", "landmarks", "score"])
        // ?threshold= is the match threshold, and is honoured.
        const strict = yield* verify("?threshold=0.99", { a: photo("obama.jpg"), b: photo("obama2.jpg") })
        assert.deepInclude(strict, { match: false, threshold: 0.99, similarity: same.similarity })
        const loose = yield* verify("?threshold=0.01&model=fast", { a: photo("obama.jpg"), b: photo("biden.jpg") })
        assert.deepInclude(loose, { threshold: 0.01 })
        assert.strictEqual(loose.match, loose.similarity >= 0.01)
        const noFace = yield* postForm("/v1/faces/verify", { a: photo("obama.jpg"), b: yield* blank })
        assert.strictEqual(noFace.status, 422)
        assert.deepInclude(yield* refusal(noFace), { _tag: "NoFace", field: "b" })
        const missing = yield* postForm("/v1/faces/verify", { a: photo("obama.jpg") })
        assert.strictEqual(missing.status, 400)
        assert.strictEqual((yield* refusal(missing))._tag, "MalformedRequest")
      }))

    it.effect("the gallery enrolls, lists, shows, identifies and removes people", () =>
      Effect.gen(function*() {
        const { gallery } = yield* clientOf(TestApi)
        const identify = (query: string, bytes: Uint8Array) => Effect.flatMap(post(`/v1/faces/identify${query}`, bytes, "image/jpeg"), answer(Identification))
        const a = yield* Effect.flatMap(send(HttpClientRequest.put("/v1/gallery/A").pipe(HttpClientRequest.bodyUint8Array(photo("obama.jpg"), "image/jpeg"))), answer(Enrolment))
        assert.deepInclude(a, { personId: "A", photos: 1 })
        assert.deepStrictEqual(a.faces.map((f) => f.field), ["body"])
        const b = yield* Effect.flatMap(send(HttpClientRequest.put("/v1/gallery/B").pipe(HttpClientRequest.bodyFormData(form({ one: photo("biden.jpg") })))), answer(Enrolment))
        assert.deepInclude(b, { personId: "B", photos: 1 })
        const list = yield* gallery.list()
        assert.deepStrictEqual(list.people.map((p) => [p.personId, p.photos]), [["A", 1], ["B", 1]])
        const shownA = yield* gallery.get({ path: { personId: "A" } })
        assert.deepStrictEqual(shownA, { personId: "A", photos: 1, enrolledAt: a.enrolledAt })
        const both = yield* identify("", photo("two_people.jpg"))
        assert.deepStrictEqual(faces(both).map((face) => face.match?.personId), ["A", "B"])
        assert.strictEqual(both.threshold, Gallery.DEFAULT_THRESHOLD)
        assert.isTrue(faces(both).every((face) => face.box.width > 0 && face.landmarks !== undefined))
        // ?threshold= is honoured: nobody is that similar.
        const strict = yield* identify("?threshold=0.999", photo("two_people.jpg"))
        assert.deepStrictEqual(faces(strict).map((face) => face.match), [null, null])
        const strangers = yield* identify("", photo("group3_ultraface23.jpg"))
        assert.deepStrictEqual(faces(strangers).map((face) => face.match), [null, null, null])
        yield* gallery.remove({ path: { personId: "B" } })
        // Declared errors arrive typed: 404 PersonNotFound.
        const again = yield* Effect.flip(gallery.remove({ path: { personId: "B" } }))
        assert.deepInclude(again, { _tag: "PersonNotFound", personId: "B" })
        const gone = yield* Effect.flip(gallery.get({ path: { personId: "B" } }))
        assert.strictEqual(gone._tag, "PersonNotFound")
        const right = yield* identify("", photo("two_people.jpg"))
        assert.deepStrictEqual(faces(right).map((face) => face.match?.personId ?? null), ["A", null])
      }))

    it.effect("enrolling from several photos keeps one embedding per photo; a photo of several people needs face=largest", () =>
      Effect.gen(function*() {
        const several = yield* send(HttpClientRequest.put("/v1/gallery/D").pipe(
          HttpClientRequest.bodyFormData(form({ one: photo("kit_harington_john1.jpeg"), two: photo("kit_harington_john2.jpeg") }))
        ))
        const { gallery } = yield* clientOf(TestApi)
        assert.deepInclude(yield* answer(Enrolment)(several), { personId: "D", photos: 2 })
        assert.deepInclude(yield* gallery.get({ path: { personId: "D" } }), { photos: 2 })
        const crowd = yield* send(HttpClientRequest.put("/v1/gallery/X").pipe(HttpClientRequest.bodyUint8Array(photo("two_people.jpg"), "image/jpeg")))
        assert.strictEqual(crowd.status, 422)
        const refused = yield* refusal(crowd)
        assert.deepInclude(refused, { _tag: "SeveralFaces", field: "body", faces: 2 })
        assert.match(refused.message, /shows 2 faces.*face=largest/)
        assert.strictEqual((yield* Effect.flip(gallery.get({ path: { personId: "X" } })))._tag, "PersonNotFound")
        const largest = yield* Effect.flatMap(send(HttpClientRequest.put("/v1/gallery/X?face=largest").pipe(HttpClientRequest.bodyUint8Array(photo("two_people.jpg"), "image/jpeg"))), answer(Enrolment))
        // The largest face of two_people.jpg is B's, on the right.
        assert.isAbove(largest.faces[0]!.box.x, 1126 / 2)
        const named = yield* Effect.flatMap(post("/v1/faces/identify", photo("biden.jpg"), "image/jpeg"), answer(Identification))
        assert.strictEqual(faces(named)[0]!.match?.personId, "X")
        yield* send(HttpClientRequest.del("/v1/gallery/X"))
        yield* send(HttpClientRequest.del("/v1/gallery/D"))
      }))

    it.effect("the gallery refuses a bad person id and a photo without a face, and keeps the person unchanged", () =>
      Effect.gen(function*() {
        const bad = yield* send(HttpClientRequest.put("/v1/gallery/no%20spaces").pipe(HttpClientRequest.bodyUint8Array(photo("obama.jpg"), "image/jpeg")))
        assert.strictEqual(bad.status, 400)
        assert.strictEqual((yield* refusal(bad))._tag, "InvalidPersonId")
        const badDelete = yield* send(HttpClientRequest.del(`/v1/gallery/${"x".repeat(65)}`))
        assert.strictEqual(badDelete.status, 400)
        const noFace = yield* send(HttpClientRequest.put("/v1/gallery/C").pipe(HttpClientRequest.bodyFormData(form({ ok: photo("obama2.jpg"), empty: yield* blank }))))
        assert.strictEqual(noFace.status, 422)
        assert.deepInclude(yield* refusal(noFace), { _tag: "NoFace", field: "empty" })
        const list = yield* (yield* clientOf(TestApi)).gallery.list()
        assert.isFalse(list.people.some((p) => p.personId === "C"))
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
