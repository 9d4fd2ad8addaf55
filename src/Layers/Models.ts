/**
 * Models: the face model files the daemon can use (read by the workers from `INFERD_MODELS_DIR`), where each
 * comes from upstream at a pinned commit, its size and sha256, and which of them are installed and intact.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Cache, Context, Duration, Effect, Layer, Ref, Stream } from "effect"
import { createHash } from "node:crypto"

/** One model file as published upstream. */
export interface ModelFile {
  /** What it is for. */
  readonly name: string
  /** Its name in the models folder (what the workers open). */
  readonly file: string
  readonly url: string
  readonly bytes: number
  readonly sha256: string
  readonly license: string
}

/** A file at a pinned commit of a GitHub repository, as raw bytes. */
const github = (repo: string, commit: string, path: string) => `https://raw.githubusercontent.com/${repo}/${commit}/${path}`

/** The face models, pinned to the commits and checksums in the test data's manifest.json. */
export const FACE_MODELS: ReadonlyArray<ModelFile> = [
  {
    // OpenCV Zoo's face_detection_yunet_2023mar.onnx is these weights with a fixed 640x640 input; this export
    // takes any size, which `model=fast` needs.
    name: "YuNet face detector with landmarks (model=accurate|fast)",
    file: "yunet_s_dynamic.onnx",
    url: github("ShiqiYu/libfacedetection.train", "0047ac24afb1a50a0c6105001c89d1b5b805dbf1", "onnx/yunet_s_dynamic.onnx"),
    bytes: 237_823,
    sha256: "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3",
    license: "Apache-2.0"
  },
  {
    name: "MobileFaceNet face embedding",
    file: "MobileFaceNet.onnx",
    url: github("foamliu/MobileFaceNet", "a6cc9032a659b615f477833e1a70b5e7931bcccc", "weights/MobileFaceNet.onnx"),
    bytes: 3_998_070,
    sha256: "b7120c095d60094f28a4a54ba6a8bf51b297a6273fb40ef6350dfec1f63d9507",
    license: "Apache-2.0"
  }
]

/** An installed file's state: `present` (right size and sha256), `missing`, or `invalid` (with what is wrong). */
export interface ModelStatus {
  readonly file: string
  readonly name: string
  readonly path: string
  readonly state: "present" | "missing" | "invalid"
  readonly detail?: string
}

/**
 * The sha256 of a file, read in chunks so a large file does not hold the event loop for its whole length.
 */
export const sha256 = (file: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.stream(file).pipe(
      Stream.runFold(createHash("sha256"), (hash, chunk) => hash.update(chunk)),
      Effect.map((hash) => hash.digest("hex"))
    ))

/** Checks one file against its pins: size first (free), then sha256. */
export const check = (dir: string, model: ModelFile) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = (yield* Path.Path).join(dir, model.file)
    const base = { file: model.file, name: model.name, path }
    const info = yield* Effect.option(fs.stat(path))
    if (info._tag === "None" || info.value.type !== "File") return { ...base, state: "missing" } satisfies ModelStatus
    const size = Number(info.value.size)
    if (size !== model.bytes) return { ...base, state: "invalid", detail: `${size} bytes, expected ${model.bytes}` } satisfies ModelStatus
    const sum = yield* sha256(path)
    return sum === model.sha256
      ? { ...base, state: "present" } satisfies ModelStatus
      : { ...base, state: "invalid", detail: `sha256 ${sum}, expected ${model.sha256}` } satisfies ModelStatus
  }).pipe(Effect.catchAll((error) => Effect.succeed<ModelStatus>({
    file: model.file,
    name: model.name,
    path: `${dir}/${model.file}`,
    state: "invalid",
    detail: `could not be read: ${error.message}`
  })))

export interface ModelsService {
  /**
   * Which face models `dir` holds, intact or not. A folder's answer is reused for 2 s without a look at the
   * disk, and after that a file whose size and modification time are unchanged is not hashed again.
   */
  readonly status: (dir: string) => Effect.Effect<ReadonlyArray<ModelStatus>>
}

export class Models extends Context.Tag("inferd/Models")<Models, ModelsService>() {}

export const make = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
  // Per file: the size and modification time it had when checked, and the result.
  const hashed = yield* Ref.make(new Map<string, { readonly signature: string; readonly status: ModelStatus }>())
  const one = (dir: string, model: ModelFile) =>
    Effect.gen(function*() {
      const file = path.join(path.resolve(dir), model.file)
      const info = yield* Effect.option(fs.stat(file))
      // Without a modification time there is nothing to key on: check every time.
      const signature = info._tag === "Some" && info.value.mtime._tag === "Some"
        ? `${info.value.size}:${info.value.mtime.value.getTime()}`
        : undefined
      const cached = (yield* Ref.get(hashed)).get(file)
      if (signature !== undefined && cached?.signature === signature) return cached.status
      const status = yield* check(path.resolve(dir), model)
      if (signature !== undefined) yield* Ref.update(hashed, (map) => new Map(map).set(file, { signature, status }))
      return status
    })
  // Status pages are polled often, and under load a stat waits in libuv's thread pool behind the workers'
  // image decoding: a folder's answer is kept for 2 s, so a model installed meanwhile shows up within that.
  const recent = yield* Cache.make({
    capacity: 16,
    timeToLive: Duration.seconds(2),
    lookup: (dir: string) => Effect.provide(Effect.forEach(FACE_MODELS, (model) => one(dir, model)), context)
  })
  return Models.of({ status: (dir) => recent.get(dir) })
})

/** The registry, checking files with the platform's FileSystem. */
export const layer = Layer.effect(Models, make)
