import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import sharp from "sharp"
import * as Gallery from "../../src/Layers/Gallery.js"
import * as Tasks from "../../src/Pool/Tasks.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import * as FaceAlign from "../../src/Workers/FaceAlign.js"
import { FACE_DEFAULTS, type FaceDetectResult, type FaceModel, type Landmarks } from "../../src/Workers/Protocol.js"
import * as YuNet from "../../src/Workers/YuNet.js"
import { poolOptions } from "../support/pool.js"
import * as shared from "../support/shared.js"

const MODELS = fileURLToPath(new URL("../../../shared/data/models", import.meta.url))
const PHOTOS = fileURLToPath(new URL("../../../shared/data/images/faces", import.meta.url))
const FACE_MODELS = [YuNet.FILE, "MobileFaceNet.onnx"]
const hasShared = shared.has("FaceEngine on real models", ...FACE_MODELS.map((file) => `data/models/${file}`), "data/images/faces")
// Case tables are built at load time: without ../shared they stay empty, and their tests are skipped.
const photo = (name: string) => (hasShared ? new Uint8Array(readFileSync(path.join(PHOTOS, name))) : new Uint8Array(0))

/** Every shared photo's face count (manifest.json), and who is in it, left to right (a letter, or a stranger). */
const PHOTOS_TRUTH: Record<string, ReadonlyArray<string>> = {
  "group4_ultraface2.jpg": ["g4a", "g4b", "g4c", "g4d"],
  "pair_ultraface13.jpg": ["p2a", "p2b"],
  "family5_ultraface19.jpg": ["f5a", "f5b", "f5c", "f5d", "f5e"],
  "group3_ultraface23.jpg": ["g3a", "g3b", "g3c"],
  "obama.jpg": ["A"],
  "obama2.jpg": ["A"],
  "biden.jpg": ["B"],
  "two_people.jpg": ["A", "B"],
  "obama_rgba_32bit.png": ["A"],
  "alex_lacamoire_img1.jpg": ["C"],
  "kit_harington_john1.jpeg": ["D"],
  "kit_harington_john2.jpeg": ["D"],
  "rose_leslie_img1.jpg": ["E"],
  "rose_leslie_img2.jpg": ["E"]
}

const pool = (modelsDir: string) =>
  Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ maxQueue: 16, taskTimeout: Duration.seconds(60), settings: WorkerSettings.forTests({ modelsDir }) })))

const detect = (image: Uint8Array, options: { model?: FaceModel; minScore?: number; embed?: boolean } = {}) =>
  Effect.flatMap(WorkerPool.WorkerPool, (p) =>
    p.submit(Tasks.detectFaces(image, { ...FACE_DEFAULTS, embed: false, ...options })))

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((sum, x, i) => sum + x * b[i]!, 0)

/** The default match threshold (INFERD_FACE_MATCH_THRESHOLD). */
const MATCH = Gallery.DEFAULT_THRESHOLD

/** The embeddings of an image's faces, left to right. */
const embeddings = (name: string, model: FaceModel = "accurate") =>
  Effect.map(detect(photo(name), { model, embed: true }), (result) =>
    [...result.faces].sort((a, b) => a.box.x - b.box.x).map((face) => face.embedding!))

/** Raw YuNet outputs for a `width`x`height` input, all zero but for `cells`: [stride, row, col, cls, obj, bbox, kps]. */
const outputs = (width: number, height: number, cells: ReadonlyArray<readonly [number, number, number, number, number, ReadonlyArray<number>, ReadonlyArray<number>]>) => {
  const out: Record<string, Float32Array> = {}
  for (const s of [8, 16, 32]) {
    const n = (width / s) * (height / s)
    out[`cls_${s}`] = new Float32Array(n)
    out[`obj_${s}`] = new Float32Array(n)
    out[`bbox_${s}`] = new Float32Array(4 * n)
    out[`kps_${s}`] = new Float32Array(10 * n)
  }
  for (const [s, r, c, cls, obj, bbox, kps] of cells) {
    const i = r * (width / s) + c
    out[`cls_${s}`]![i] = cls
    out[`obj_${s}`]![i] = obj
    out[`bbox_${s}`]!.set(bbox, 4 * i)
    out[`kps_${s}`]!.set(kps, 10 * i)
  }
  return out
}

describe("YuNet.decode", () => {
  it("scores sqrt(cls × obj), decodes boxes and landmarks per stride and cell, suppresses overlaps, scales back to the image", () => {
    const raw = outputs(64, 32, [
      // Stride 8, row 1, column 2: centre (2.5, 1.5) × 8 = (20, 12), size 16 × 32; landmarks at the cell's corner.
      [8, 1, 2, 0.9, 0.9, [0.5, 0.5, Math.log(2), Math.log(4)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
      // The same box from the next cell, scoring less: suppressed.
      [8, 1, 3, 0.8, 0.8, [-0.5, 0.5, Math.log(2), Math.log(4)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
      // Under the threshold.
      [16, 0, 0, 0.5, 0.5, [0.5, 0.5, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
      // Stride 32, row 0, column 1, cls over 1 (clamped): centre (48, 16), size 32; landmark n at (1 + n/10, 0.5) × 32.
      [32, 0, 1, 1.2, 0.9025, [0.5, 0.5, 0, 0], [0, 0.5, 0.1, 0.5, 0.2, 0.5, 0.3, 0.5, 0.4, 0.5]]
    ])
    // The image is twice the input's size: 128 × 64, cut to 100 × 50 by the padding.
    const found = YuNet.decode(raw, { input: { width: 64, height: 32, scaleX: 0.5, scaleY: 0.5 }, threshold: 0.6, width: 100, height: 50 })
    assert.deepStrictEqual(found.map((f) => Math.round(f.score * 1000)), [950, 900])
    assert.deepStrictEqual(found.map((f) => f.box), [{ x: 64, y: 0, width: 36, height: 50 }, { x: 24, y: 0, width: 32, height: 50 }])
    assert.deepStrictEqual(found[1]!.landmarks.nose, { x: 32, y: 16 })
    const { leftEye, mouthLeft, mouthRight, nose, rightEye } = found[0]!.landmarks
    assert.deepStrictEqual([rightEye, leftEye, nose, mouthRight, mouthLeft].map((p) => [Math.round(p.x * 10) / 10, p.y]), [
      [64, 32], [70.4, 32], [76.8, 32], [83.2, 32], [89.6, 32]
    ])
  })

  it("clamps a box to the image, and drops one with nothing left inside it", () => {
    const raw = outputs(32, 32, [[32, 0, 0, 0.99, 0.99, [0.5, 0.5, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]])
    const clamped = YuNet.decode(raw, { input: { width: 32, height: 32, scaleX: 0.1, scaleY: 0.1 }, threshold: 0.5, width: 3, height: 3 })
    assert.deepStrictEqual(clamped.map((f) => f.box), [{ x: 0, y: 0, width: 3, height: 3 }])
    const away = outputs(64, 32, [[32, 0, 1, 0.99, 0.99, [0.5, 0.5, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]])
    assert.deepStrictEqual(YuNet.decode(away, { input: { width: 64, height: 32, scaleX: 1, scaleY: 1 }, threshold: 0.5, width: 20, height: 20 }), [])
  })
})

const landmarksAt = (points: ReadonlyArray<{ readonly x: number; readonly y: number }>): Landmarks => ({
  rightEye: points[0]!, leftEye: points[1]!, nose: points[2]!, mouthRight: points[3]!, mouthLeft: points[4]!
})

describe("FaceAlign", () => {
  // A face turned 30°, 2.5 times the template's size, at (100, 50).
  const known = { ar: 2.5 * Math.cos(Math.PI / 6), ai: 2.5 * Math.sin(Math.PI / 6), bx: 100, by: 50 }
  const seen = FaceAlign.TEMPLATE.map((p) => FaceAlign.apply(known, p))

  it("fits the similarity that maps landmarks onto the template exactly when one exists", () => {
    const fitted = FaceAlign.fit(seen, FaceAlign.TEMPLATE)
    seen.forEach((p, i) => {
      const q = FaceAlign.apply(fitted, p)
      assert.approximately(q.x, FaceAlign.TEMPLATE[i]!.x, 1e-9)
      assert.approximately(q.y, FaceAlign.TEMPLATE[i]!.y, 1e-9)
    })
    const back = FaceAlign.invert(fitted)
    assert.approximately(back.ar, known.ar, 1e-9)
    assert.approximately(back.by, known.by, 1e-9)
  })

  it("is the least-squares fit: nudging any parameter of it raises the squared error", () => {
    const noisy = seen.map((p, i) => ({ x: p.x + [3, -2, 1, 0, -1][i]!, y: p.y + [-1, 2, 0, 3, -2][i]! }))
    const error = (t: FaceAlign.Similarity) =>
      noisy.reduce((sum, p, i) => {
        const q = FaceAlign.apply(t, p)
        return sum + (q.x - FaceAlign.TEMPLATE[i]!.x) ** 2 + (q.y - FaceAlign.TEMPLATE[i]!.y) ** 2
      }, 0)
    const fitted = FaceAlign.fit(noisy, FaceAlign.TEMPLATE)
    for (const key of ["ar", "ai", "bx", "by"] as const) {
      for (const step of [1e-3, -1e-3]) assert.isAbove(error({ ...fitted, [key]: fitted[key] + step }), error(fitted), `${key} ${step}`)
    }
  })

  it("warps bilinearly through the inverse transform, black outside the image", () => {
    // Red is x and green is y: each aligned pixel shows where in the image it was sampled.
    const width = 200, height = 200
    const data = Buffer.alloc(width * height * 3)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([Math.min(255, x), Math.min(255, y), 255], (y * width + x) * 3)
    const scale = { ar: 1.5, ai: 0, bx: 20.25, by: 30.5 }
    const face = FaceAlign.warp({ data, width, height }, landmarksAt(FaceAlign.TEMPLATE.map((p) => FaceAlign.apply(scale, p))))
    for (const [u, v] of [[0, 0], [56, 56], [111, 80]] as const) {
      const at = (v * FaceAlign.SIDE + u) * 3
      assert.approximately(face[at]!, 1.5 * u + 20.25, 0.51, `red at ${u},${v}`)
      assert.approximately(face[at + 1]!, 1.5 * v + 30.5, 0.51, `green at ${u},${v}`)
      assert.strictEqual(face[at + 2], 255)
    }
    // Shifted so the aligned face's top-left corner falls outside the image.
    const off = FaceAlign.warp({ data, width, height }, landmarksAt(FaceAlign.TEMPLATE.map((p) => ({ x: p.x - 60, y: p.y - 60 }))))
    assert.deepStrictEqual([...off.subarray(0, 3)], [0, 0, 0])
    const inside = (111 * FaceAlign.SIDE + 111) * 3
    assert.deepStrictEqual([...off.subarray(inside, inside + 3)], [51, 51, 255])
  })
})

describe.skipIf(!hasShared)("FaceEngine (real worker, models from ../shared/data/models)", () => {
  layer(pool(MODELS), { timeout: 180_000, excludeTestServices: true })("with the models installed", (it) => {
    for (const model of ["accurate", "fast"] as const) {
      it.effect(`${model}: finds exactly the known number of faces on every shared photo, boxes and landmarks in place`, () =>
        Effect.gen(function*() {
          for (const [name, people] of Object.entries(PHOTOS_TRUTH)) {
            const result = yield* detect(photo(name), { model })
            assert.strictEqual(result.faces.length, people.length, `${name}: ${JSON.stringify(result.faces.map((f) => f.score))}`)
            for (const { box, landmarks: l, score } of result.faces) {
              assert.isAtLeast(score, FACE_DEFAULTS.minScore)
              assert.isAtLeast(box.x, 0)
              assert.isAtLeast(box.y, 0)
              assert.isAbove(box.width, 10)
              assert.isAtMost(box.x + box.width, result.width)
              assert.isAtMost(box.y + box.height, result.height)
              // Upright frontal faces: the person's right eye and mouth corner on the image's left, eyes over
              // the nose over the mouth, all inside the box.
              assert.isBelow(l.rightEye.x, l.leftEye.x, name)
              assert.isBelow(l.mouthRight.x, l.mouthLeft.x, name)
              assert.isBelow(Math.max(l.rightEye.y, l.leftEye.y), l.nose.y, name)
              assert.isBelow(l.nose.y, Math.min(l.mouthRight.y, l.mouthLeft.y), name)
              for (const p of [l.rightEye, l.leftEye, l.nose, l.mouthRight, l.mouthLeft]) {
                assert.isTrue(p.x > box.x && p.x < box.x + box.width && p.y > box.y && p.y < box.y + box.height, `${name}: ${JSON.stringify(p)} in ${JSON.stringify(box)}`)
              }
            }
            yield* Effect.log(`${model} ${name} ${result.width}x${result.height}: ${people.length} face(s) in ${result.durationMs} ms`)
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

    it.effect("honours EXIF orientation: a sideways JPEG tagged to be turned gives the upright boxes and landmarks", () =>
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
          const expected = left(upright)[i]!
          assert.approximately(face.box.x, expected.box.x, 8)
          assert.approximately(face.box.y, expected.box.y, 8)
          assert.approximately(face.box.width, expected.box.width, 8)
          assert.approximately(face.landmarks.rightEye.x, expected.landmarks.rightEye.x, 4)
          assert.approximately(face.landmarks.mouthLeft.y, expected.landmarks.mouthLeft.y, 4)
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
      it.effect(`${model}: on every pair of shared faces, the same person scores over the match threshold and different people under it`, () =>
        Effect.gen(function*() {
          const faces = (yield* Effect.forEach(Object.entries(PHOTOS_TRUTH), ([name, people]) =>
            Effect.map(embeddings(name, model), (es) => es.map((e, i) => ({ name, who: people[i]!, e }))))).flat()
          const same: Array<number> = [], different: Array<number> = []
          faces.forEach((a, i) =>
            faces.slice(i + 1).forEach((b) => {
              // obama_rgba_32bit.png is obama2.jpg's own pixels: that pair says nothing about recognition.
              if (new Set([a.name, b.name]).size === 2 && [a.name, b.name].every((n) => n.startsWith("obama2") || n.startsWith("obama_rgba"))) return
              ;(a.who === b.who ? same : different).push(cosine(a.e, b.e))
            }))
          yield* Effect.log(`${model}: ${faces.length} faces; same ${same.length} pairs, min ${Math.min(...same).toFixed(3)}; different ${different.length} pairs, max ${Math.max(...different).toFixed(3)}`)
          assert.strictEqual(faces.length, 25)
          assert.strictEqual(same.length, 8)
          assert.isAbove(Math.min(...same), MATCH)
          assert.isBelow(Math.max(...different), MATCH)
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
      assert.deepInclude(missing, { _tag: "ModelUnavailable", model: YuNet.FILE, fix: "npx inferd models fetch" })
      // Installed while the daemon runs: the same worker picks each model up on the next request.
      copyFileSync(path.join(MODELS, YuNet.FILE), path.join(dir, YuNet.FILE))
      const noEmbedder = yield* Effect.flip(attempt)
      assert.deepInclude(noEmbedder, { _tag: "ModelUnavailable", model: "MobileFaceNet.onnx", fix: "npx inferd models fetch" })
      copyFileSync(path.join(MODELS, "MobileFaceNet.onnx"), path.join(dir, "MobileFaceNet.onnx"))
      const found = yield* attempt
      assert.strictEqual(found.faces.length, 1)
      assert.strictEqual(found.faces[0]!.embedding!.length, 128)
    }).pipe(Effect.scoped), 120_000)
})
