import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import sharp from "sharp"
import * as Tasks from "../../src/Pool/Tasks.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import type { FaceDetectResult, FaceModel } from "../../src/Workers/Protocol.js"
import * as UltraFace from "../../src/Workers/UltraFace.js"
import { poolOptions } from "../support/pool.js"
import * as shared from "../support/shared.js"

const MODELS = fileURLToPath(new URL("../../../shared/data/models", import.meta.url))
const PHOTOS = fileURLToPath(new URL("../../../shared/data/images/faces", import.meta.url))
const FACE_MODELS = ["version-RFB-640.onnx", "version-RFB-320.onnx", "MobileFaceNet.onnx"]
const hasShared = shared.has("FaceEngine on real models", ...FACE_MODELS.map((file) => `data/models/${file}`), "data/images/faces")
// Case tables are built at load time: without ../shared they stay empty, and their tests are skipped.
const photo = (name: string) => (hasShared ? new Uint8Array(readFileSync(path.join(PHOTOS, name))) : new Uint8Array(0))

/** The shared photos' face counts (manifest.json), which both detectors reproduce at 0.7. */
const COUNTS: Record<string, number> = {
  "group4_ultraface2.jpg": 4,
  "pair_ultraface13.jpg": 2,
  "family5_ultraface19.jpg": 5,
  "group3_ultraface23.jpg": 3,
  "obama.jpg": 1,
  "obama2.jpg": 1,
  "biden.jpg": 1,
  "two_people.jpg": 2,
  "obama_rgba_32bit.png": 1
}

const pool = (modelsDir: string) =>
  Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ maxQueue: 16, taskTimeout: Duration.seconds(60), settings: WorkerSettings.forTests({ modelsDir }) })))

const detect = (image: Uint8Array, options: { model?: FaceModel; threshold?: number; embed?: boolean } = {}) =>
  Effect.flatMap(WorkerPool.WorkerPool, (p) =>
    p.submit(Tasks.detectFaces(image, { model: options.model ?? "accurate", threshold: options.threshold ?? 0.7, embed: options.embed ?? false })))

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((sum, x, i) => sum + x * b[i]!, 0)

/** The embeddings of an image's faces, left to right. */
const embeddings = (name: string, model: FaceModel = "accurate") =>
  Effect.map(detect(photo(name), { model, embed: true }), (result) =>
    [...result.faces].sort((a, b) => a.box.x - b.box.x).map((face) => face.embedding!))

describe("UltraFace.postprocess", () => {
  it("keeps scores over the threshold, best first, suppresses overlaps at IoU 0.3, scales and clamps", () => {
    const scores = Float32Array.of(0.1, 0.9, 0.2, 0.8, 0.05, 0.95, 0.4, 0.6, 0.3, 0.7)
    const boxes = Float32Array.of(
      0.1, 0.1, 0.3, 0.3, // 0.9
      0.11, 0.11, 0.31, 0.31, // 0.8: overlaps the first (IoU ≈ 0.82), suppressed
      -0.1, 0.5, 0.2, 1.2, // 0.95: clamped to the image
      0.6, 0.6, 0.7, 0.7, // 0.6: under the threshold
      1.2, 0.1, 1.4, 0.2 // 0.7: equal to the threshold is not over it
    )
    const found = UltraFace.postprocess(scores, boxes, { threshold: 0.7, width: 200, height: 100 })
    assert.deepStrictEqual(found.map((d) => d.box), [{ x: 0, y: 50, width: 40, height: 50 }, { x: 20, y: 10, width: 40, height: 20 }])
    assert.deepStrictEqual(found.map((d) => Math.round(d.score * 100)), [95, 90])
  })

  it("drops a box left empty by clamping", () => {
    const found = UltraFace.postprocess(Float32Array.of(0, 0.99), Float32Array.of(1.1, 0.2, 1.3, 0.4), { threshold: 0.5, width: 100, height: 100 })
    assert.deepStrictEqual(found, [])
  })
})

describe.skipIf(!hasShared)("FaceEngine (real worker, models from ../shared/data/models)", () => {
  layer(pool(MODELS), { timeout: 120_000, excludeTestServices: true })("with the models installed", (it) => {
    for (const model of ["accurate", "fast"] as const) {
      it.effect(`${model}: finds exactly the known number of faces on every photo, boxes inside the image`, () =>
        Effect.gen(function*() {
          for (const [name, count] of Object.entries(COUNTS)) {
            const result = yield* detect(photo(name), { model })
            assert.strictEqual(result.faces.length, count, `${name}: ${JSON.stringify(result.faces)}`)
            for (const { box, score } of result.faces) {
              assert.isAbove(score, 0.7)
              assert.isAtLeast(box.x, 0)
              assert.isAtLeast(box.y, 0)
              assert.isAbove(box.width, 10)
              assert.isAbove(box.height, 10)
              assert.isAtMost(box.x + box.width, result.width)
              assert.isAtMost(box.y + box.height, result.height)
            }
            yield* Effect.log(`${model} ${name} ${result.width}x${result.height}: ${count} face(s) in ${result.durationMs} ms`)
          }
        }))
    }

    it.effect("puts obama.jpg's face where face_recognition's dlib box is (within the box's own margins)", () =>
      Effect.gen(function*() {
        const { faces, height, width } = yield* detect(photo("obama.jpg"))
        assert.deepStrictEqual([width, height], [910, 1137])
        const { x, y, width: w, height: h } = faces[0]!.box
        // dlib's box (left 349, top 142, right 617, bottom 409) is eyebrows to chin: the centres agree.
        assert.approximately(x + w / 2, (349 + 617) / 2, 30)
        assert.approximately(y + h / 2, (142 + 409) / 2, 60)
      }))

    it.effect("honours EXIF orientation: a sideways JPEG tagged to be turned gives the upright boxes", () =>
      Effect.gen(function*() {
        const upright = yield* detect(photo("two_people.jpg"))
        // Stored rotated a quarter turn, with orientation 6 ("rotate 90° clockwise to view").
        const stored = yield* Effect.promise(() =>
          sharp(photo("two_people.jpg")).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer()
        )
        const turned = yield* detect(new Uint8Array(stored))
        assert.deepStrictEqual([turned.width, turned.height], [upright.width, upright.height])
        const left = (r: FaceDetectResult) => [...r.faces].sort((a, b) => a.box.x - b.box.x)
        assert.strictEqual(turned.faces.length, 2)
        left(turned).forEach((face, i) => {
          const expected = left(upright)[i]!.box
          assert.approximately(face.box.x, expected.x, 8)
          assert.approximately(face.box.y, expected.y, 8)
          assert.approximately(face.box.width, expected.width, 8)
        })
      }))

    it.effect("embeds each face as 128 L2-normalised numbers, only when asked", () =>
      Effect.gen(function*() {
        const plain = yield* detect(photo("group4_ultraface2.jpg"))
        assert.isTrue(plain.faces.every((face) => face.embedding === undefined))
        const embedded = yield* detect(photo("group4_ultraface2.jpg"), { embed: true })
        assert.deepStrictEqual(embedded.faces.map((f) => f.box), plain.faces.map((f) => f.box))
        for (const face of embedded.faces) {
          assert.strictEqual(face.embedding!.length, 128)
          assert.approximately(cosine(face.embedding!, face.embedding!), 1, 1e-5)
        }
      }))

    it.effect("drops alpha: the RGBA PNG gives the same face and embedding as its JPEG twin", () =>
      Effect.gen(function*() {
        const [png] = yield* embeddings("obama_rgba_32bit.png")
        const [jpeg] = yield* embeddings("obama2.jpg")
        yield* Effect.log(`RGBA PNG vs JPEG twin: cosine ${cosine(png!, jpeg!).toFixed(4)}`)
        assert.isAbove(cosine(png!, jpeg!), 0.98)
      }))

    for (const model of ["accurate", "fast"] as const) {
      it.effect(`${model}: every same-person similarity is above every different-person one`, () =>
        Effect.gen(function*() {
          const [obama] = yield* embeddings("obama.jpg", model)
          const [obama2] = yield* embeddings("obama2.jpg", model)
          const [biden] = yield* embeddings("biden.jpg", model)
          const [left, right] = yield* embeddings("two_people.jpg", model)
          const strangers = (yield* Effect.forEach(["group4_ultraface2.jpg", "pair_ultraface13.jpg", "family5_ultraface19.jpg", "group3_ultraface23.jpg"], (name) =>
            embeddings(name, model))).flat()
          const a = [obama!, obama2!, left!]
          const b = [biden!, right!]
          const same = [[obama!, obama2!], [obama!, left!], [obama2!, left!], [biden!, right!]].map(([x, y]) => cosine(x!, y!))
          const people = [...a.map((e) => ["A", e] as const), ...b.map((e) => ["B", e] as const), ...strangers.map((e, i) => [`s${i}`, e] as const)]
          const different = people.flatMap(([p, x], i) => people.slice(i + 1).filter(([q]) => q !== p).map(([, y]) => cosine(x, y)))
          yield* Effect.log(`${model}: same ${same.map((s) => s.toFixed(2)).join(" ")}; different max ${Math.max(...different).toFixed(2)} of ${different.length}`)
          assert.isAbove(Math.min(...same), Math.max(...different))
          // The default match threshold (0.5, Gallery.ts) sits between the two.
          assert.isAbove(Math.min(...same), 0.5)
          assert.isBelow(Math.max(...different), 0.5)
        }))
    }

    it.effect("reads greyscale and 16-bit images as RGB", () =>
      Effect.gen(function*() {
        const grey = yield* Effect.promise(() => sharp(photo("obama2.jpg")).greyscale().jpeg().toBuffer())
        const deep = yield* Effect.promise(() => sharp(photo("obama2.jpg")).toColourspace("rgb16").png().toBuffer())
        const [colour] = yield* embeddings("obama2.jpg")
        for (const [bytes, least] of [[grey, 0.8], [deep, 0.98]] as const) {
          const result = yield* detect(new Uint8Array(bytes), { embed: true })
          assert.deepStrictEqual([result.width, result.height, result.faces.length], [626, 1200, 1])
          yield* Effect.log(`cosine to the colour JPEG: ${cosine(result.faces[0]!.embedding!, colour!).toFixed(3)}`)
          assert.isAbove(cosine(result.faces[0]!.embedding!, colour!), least)
        }
      }))

    const rejects: ReadonlyArray<readonly [string, Uint8Array, string]> = [
      ["random bytes", new Uint8Array(4000).fill(7), "ImageUndecodable"],
      ["a truncated JPEG", photo("obama.jpg").slice(0, 20_000), "ImageUndecodable"]
    ]
    for (const [what, bytes, tag] of rejects) {
      it.effect(`answers ${tag} for ${what}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(detect(bytes))
          assert.strictEqual(error._tag, tag)
        }))
    }
  })

  it.live("answers ModelUnavailable (with the fix) while a model is missing, and serves once it is installed", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(path.join(tmpdir(), "inferd-models-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const context = yield* Layer.build(pool(dir))
      // A fresh copy each time: the bytes are transferred to the worker, which detaches them here.
      const attempt = Effect.suspend(() => detect(photo("obama.jpg"), { model: "fast", embed: true })).pipe(Effect.provide(context))
      const missing = yield* Effect.flip(attempt)
      assert.deepInclude(missing, { _tag: "ModelUnavailable", model: "version-RFB-320.onnx", fix: "npx inferd models fetch" })
      // Installed while the daemon runs: the same worker picks each model up on the next request.
      copyFileSync(path.join(MODELS, "version-RFB-320.onnx"), path.join(dir, "version-RFB-320.onnx"))
      const noEmbedder = yield* Effect.flip(attempt)
      assert.deepInclude(noEmbedder, { _tag: "ModelUnavailable", model: "MobileFaceNet.onnx", fix: "npx inferd models fetch" })
      copyFileSync(path.join(MODELS, "MobileFaceNet.onnx"), path.join(dir, "MobileFaceNet.onnx"))
      const found = yield* attempt
      assert.strictEqual(found.faces.length, 1)
      assert.strictEqual(found.faces[0]!.embedding!.length, 128)
    }).pipe(Effect.scoped), 120_000)
})
