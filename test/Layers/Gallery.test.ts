import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Gallery from "../../src/Layers/Gallery.js"
import * as Tasks from "../../src/Pool/Tasks.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { FACE_DEFAULTS } from "../../src/Workers/Protocol.js"
import * as YuNet from "../../src/Workers/YuNet.js"
import { poolOptions } from "../support/pool.js"
import * as shared from "../support/shared.js"

/** A unit vector along axis `i` of 128, tilted towards axis `j` by `t`. */
const unit = (i: number, j = i, t = 0) => {
  const v = Array.from({ length: 128 }, (_, k) => (k === i ? 1 : 0) + (k === j ? t : 0))
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}

const counts = (people: ReadonlyArray<Gallery.PersonSummary>) => people.map((p) => [p.personId, p.photos] as const)

const tempGallery = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "inferd-gallery-" })
  return { dir, open: Gallery.make({ dir, threshold: 0.5 }) }
})

describe("Gallery (gallery.json in a temporary folder)", () => {
  it.scoped("persists enrolments and removals across a new instance on the same folder", () =>
    Effect.gen(function*() {
      const { open } = yield* tempGallery
      const first = yield* open
      assert.deepInclude(yield* first.enroll("alice", [unit(0), unit(0, 1, 0.1)]), { personId: "alice", photos: 2 })
      yield* first.enroll("bob", [unit(5)])
      yield* first.enroll("carol", [unit(9)])
      yield* first.remove("carol")
      // Ids that are also names of Object.prototype's members are people like any other.
      yield* first.enroll("__proto__", [unit(7)])
      yield* first.enroll("constructor", [unit(8)])
      const second = yield* open
      assert.deepStrictEqual(counts(yield* second.list), [["__proto__", 1], ["alice", 2], ["bob", 1], ["constructor", 1]])
      assert.deepStrictEqual(yield* second.get("alice"), (yield* first.list).find((p) => p.personId === "alice"))
      assert.strictEqual((yield* second.identify(unit(5)))?.personId, "bob")
      assert.strictEqual((yield* second.identify(unit(7)))?.personId, "__proto__")
      yield* second.remove("__proto__")
      assert.strictEqual((yield* (yield* open).list).length, 3)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("re-enrolling replaces a person's embeddings (PUT)", () =>
    Effect.gen(function*() {
      const gallery = yield* (yield* tempGallery).open
      yield* gallery.enroll("alice", [unit(0), unit(1), unit(2)])
      yield* gallery.enroll("alice", [unit(3)])
      assert.deepStrictEqual(counts(yield* gallery.list), [["alice", 1]])
      assert.deepStrictEqual(yield* gallery.identify(unit(3)), { personId: "alice", similarity: 1 })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("20 concurrent enrolls all end up in the file", () =>
    Effect.gen(function*() {
      const { open } = yield* tempGallery
      const gallery = yield* open
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => gallery.enroll(`person-${i}`, [unit(i)]), { concurrency: "unbounded" })
      assert.strictEqual((yield* gallery.list).length, 20)
      const reloaded = yield* open
      assert.deepStrictEqual((yield* reloaded.list).map((p) => p.personId).sort(), Array.from({ length: 20 }, (_, i) => `person-${i}`).sort())
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("ignores and removes a temporary file a crash left behind", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const { dir, open } = yield* tempGallery
      yield* (yield* open).enroll("alice", [unit(0)])
      // A crash mid-write: half a JSON document under the temporary name.
      yield* fs.writeFileString(path.join(dir, "gallery.json.tmp"), "{\"version\":2,\"people\":[{\"personId\":\"mallory\",\"embe")
      const reopened = yield* open
      assert.deepStrictEqual(counts(yield* reopened.list), [["alice", 1]])
      assert.isFalse(yield* fs.exists(path.join(dir, "gallery.json.tmp")))
      yield* reopened.enroll("bob", [unit(1)])
      assert.strictEqual((yield* (yield* open).list).length, 2)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("moves a gallery file that does not parse aside, keeps it, and starts empty", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const { dir, open } = yield* tempGallery
      yield* fs.writeFileString(path.join(dir, "gallery.json"), "not json")
      const gallery = yield* open
      assert.deepStrictEqual(yield* gallery.list, [])
      const aside = (yield* fs.readDirectory(dir)).filter((name) => name.startsWith("gallery.json.corrupt-"))
      assert.strictEqual(aside.length, 1)
      assert.strictEqual(yield* fs.readFileString(path.join(dir, aside[0]!)), "not json")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("moves a version-1 gallery (embeddings of unaligned crops) aside, keeps it, and starts empty", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const { dir, open } = yield* tempGallery
      const old = JSON.stringify({ version: 1, people: [{ personId: "alice", embeddings: [unit(0)], enrolledAt: "2026-01-01T00:00:00.000Z" }] })
      yield* fs.writeFileString(path.join(dir, "gallery.json"), old)
      const gallery = yield* open
      assert.deepStrictEqual(yield* gallery.list, [])
      const aside = (yield* fs.readDirectory(dir)).filter((name) => name.startsWith("gallery.json.v1-"))
      assert.strictEqual(aside.length, 1)
      assert.strictEqual(yield* fs.readFileString(path.join(dir, aside[0]!)), old)
      yield* gallery.enroll("alice", [unit(0)])
      assert.deepStrictEqual(counts(yield* (yield* open).list), [["alice", 1]])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("refuses invalid person ids and unknown people", () =>
    Effect.gen(function*() {
      const gallery = yield* Gallery.Gallery
      for (const bad of ["", "a/b", "../x", "x".repeat(65), "name with space", "é"]) {
        const error = yield* Effect.flip(gallery.enroll(bad, [unit(0)]))
        assert.strictEqual(error._tag, "InvalidPersonId", bad)
      }
      assert.strictEqual((yield* gallery.enroll("A.b_c-9", [unit(0)])).personId, "A.b_c-9")
      const missing = yield* Effect.flip(gallery.remove("nobody"))
      assert.deepInclude(missing, { _tag: "PersonNotFound", personId: "nobody" })
      assert.deepInclude(yield* Effect.flip(gallery.get("nobody")), { _tag: "PersonNotFound", personId: "nobody" })
      assert.strictEqual((yield* Effect.flip(gallery.get("a/b")))._tag, "InvalidPersonId")
    }).pipe(Effect.provide(Gallery.layerTest())))

  it.effect("identifies by the mean of a person's embeddings, and not under the threshold", () =>
    Effect.gen(function*() {
      const gallery = yield* Gallery.Gallery
      // Alice's two photos straddle axis 0; Bob has one photo close to the probe's tilt.
      yield* gallery.enroll("alice", [unit(0, 1, 0.5), unit(0, 2, 0.5)])
      yield* gallery.enroll("bob", [unit(3)])
      const alice = yield* gallery.identify(unit(0))
      assert.strictEqual(alice?.personId, "alice")
      assert.approximately(alice!.similarity, 0.9428, 1e-3)
      assert.isNull(yield* gallery.identify(unit(7)))
      // cos = 0.447: under 0.5, unless the caller asks for less.
      assert.isNull(yield* gallery.identify(unit(3, 8, 2)))
      assert.deepStrictEqual(yield* gallery.identify(unit(3, 8, 2), 0.4), { personId: "bob", similarity: 0.4472 })
      assert.isNull(yield* gallery.identify(unit(0), 0.95))
    }).pipe(Effect.provide(Gallery.layerTest({ threshold: 0.5 }))))

  it.effect("a failed save changes nothing", () =>
    Effect.gen(function*() {
      let saves = 0
      const gallery = yield* Gallery.makeWith({
        load: Effect.succeed({ version: 2, people: [] }),
        save: () => ++saves > 1 ? Effect.fail(new Gallery.GalleryStorageFailed({ message: "disk full" })) : Effect.void
      }, 0.5)
      yield* gallery.enroll("alice", [unit(0)])
      const error = yield* Effect.flip(gallery.enroll("bob", [unit(1)]))
      assert.strictEqual(error._tag, "GalleryStorageFailed")
      assert.deepStrictEqual((yield* gallery.list).map((p) => p.personId), ["alice"])
      assert.isNull(yield* gallery.identify(unit(1)))
    }))
})

const MODELS = fileURLToPath(new URL("../../../shared/data/models", import.meta.url))
const PHOTOS = fileURLToPath(new URL("../../../shared/data/images/faces", import.meta.url))
const hasShared = shared.has("Gallery with real embeddings", "data/models/MobileFaceNet.onnx", `data/models/${YuNet.FILE}`, "data/images/faces")

const Pool = Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ taskTimeout: Duration.seconds(60), settings: WorkerSettings.forTests({ modelsDir: MODELS }) })))

/** The faces of a shared photo, left to right, with embeddings. */
const faces = (name: string) =>
  Effect.flatMap(WorkerPool.WorkerPool, (pool) =>
    pool.submit(Tasks.detectFaces(new Uint8Array(readFileSync(`${PHOTOS}/${name}`)), { ...FACE_DEFAULTS, embed: true }))).pipe(
      Effect.map((result) => [...result.faces].sort((a, b) => a.box.x - b.box.x).map((face) => face.embedding!))
    )

/** A–E enrolled from one photo each (the photos the acceptance check enrols); every other face, and who it is. */
const ENROL = { A: "obama.jpg", B: "biden.jpg", C: "alex_lacamoire_img1.jpg", D: "kit_harington_john1.jpeg", E: "rose_leslie_img1.jpg" }
const OTHERS: ReadonlyArray<readonly [string, ReadonlyArray<string | null>]> = [
  ["obama2.jpg", ["A"]],
  ["obama_rgba_32bit.png", ["A"]],
  ["two_people.jpg", ["A", "B"]],
  ["kit_harington_john2.jpeg", ["D"]],
  ["rose_leslie_img2.jpg", ["E"]],
  ["group4_ultraface2.jpg", [null, null, null, null]],
  ["pair_ultraface13.jpg", [null, null]],
  ["family5_ultraface19.jpg", [null, null, null, null, null]],
  ["group3_ultraface23.jpg", [null, null, null]]
]

describe.skipIf(!hasShared)("Gallery with real embeddings", () => {
  layer(Layer.merge(Pool, Gallery.layerTest()), { timeout: 180_000, excludeTestServices: true })("(real worker)", (it) => {
    it.effect("open set: enrolled A–E from one photo each, names every other face of them and no stranger", () =>
      Effect.gen(function*() {
        const gallery = yield* Gallery.Gallery
        for (const [id, name] of Object.entries(ENROL)) yield* gallery.enroll(id, yield* faces(name))
        for (const [name, want] of OTHERS) {
          const named = yield* Effect.forEach(yield* faces(name), (e) => gallery.identify(e))
          yield* Effect.log(`${name}: ${JSON.stringify(named)}`)
          assert.deepStrictEqual(named.map((m) => m?.personId ?? null), want, name)
        }
      }))

    it.effect("a person enrolled from several photos keeps one embedding each, and is found by their mean", () =>
      Effect.gen(function*() {
        const gallery = yield* Gallery.Gallery
        const photos = [...(yield* faces("obama.jpg")), ...(yield* faces("obama2.jpg"))]
        assert.deepInclude(yield* gallery.enroll("A", photos), { personId: "A", photos: 2 })
        const [left] = yield* faces("two_people.jpg")
        const match = yield* gallery.identify(left!)
        assert.strictEqual(match?.personId, "A")
        assert.approximately(match!.similarity, Gallery.centroid(photos).reduce((s, x, i) => s + x * left![i]!, 0), 1e-4)
      }))
  })
})
