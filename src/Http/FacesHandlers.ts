/**
 * The faces group's handlers: uploads go to a worker as transferred bytes; the main thread never decodes an
 * image. Verification and identification compare the worker's L2-normalised embeddings by cosine.
 */
import type { HttpApiBuilder } from "@effect/platform"
import type { ApiError } from "./Api.js"
import { Effect, Either } from "effect"
import { Jobs } from "../Jobs/Jobs.js"
import { Gallery } from "../Layers/Gallery.js"
import * as Tasks from "../Pool/Tasks.js"
import { WorkerPool, type WorkerPoolService } from "../Pool/WorkerPool.js"
import type { Face, FaceModel } from "../Workers/Protocol.js"
import { type FaceChoice, type FacesApi, NoFace, SeveralFaces } from "./FacesApi.js"
import { accepted } from "./Accepted.js"
import { asyncNotOffered } from "./JobsHandlers.js"
import * as Media from "./Media.js"
import { MalformedRequest, Upload, type UploadedFile } from "./Upload.js"

/** The detection settings every endpoint takes from its query (see `DetectParams`). */
export interface Detect {
  readonly model: FaceModel
  readonly minScore: number
  readonly timeoutMs?: number | undefined
}

/** Runs detection (and embedding) on the pool; the bytes are transferred, so `image` is empty afterwards. */
export const detect = (pool: WorkerPoolService, image: Uint8Array, params: Detect, embed: boolean) =>
  pool.submit(Tasks.detectFaces(image, { model: params.model, minScore: params.minScore, embed }), {
    timeout: params.timeoutMs,
    bytes: image.byteLength
  })

const area = (face: Face) => face.box.width * face.box.height

/** A face as answers show it: without its embedding. */
export const shown = ({ box, landmarks, score }: Face) => ({ box, score, landmarks })

/** A face chosen from an upload, with its embedding. */
export interface Chosen {
  readonly face: Face
  readonly embedding: ReadonlyArray<number>
}

/** The largest of an upload's faces, or NoFace naming the upload's field. */
const largestOf = (file: UploadedFile, params: Detect, faces: ReadonlyArray<Face>): Effect.Effect<Chosen, NoFace> => {
  const largest = faces.reduce<Face | undefined>((best, face) => best === undefined || area(face) > area(best) ? face : best, undefined)
  return largest?.embedding === undefined
    ? Effect.fail(new NoFace({ message: `no face found in "${file.field}" (model ${params.model}, score at least ${params.minScore})`, field: file.field }))
    : Effect.succeed({ face: largest, embedding: largest.embedding })
}

/** The largest face of an uploaded file, with its embedding. */
export const largestFace = (pool: WorkerPoolService, file: UploadedFile, params: Detect) =>
  Effect.flatMap(detect(pool, file.bytes, params, true), ({ faces }) => largestOf(file, params, faces))

/**
 * The face of an enrolment photo, with its embedding: the only one (several is SeveralFaces, naming the field
 * and the count), or with `largest` the largest.
 */
export const enrolmentFace = (pool: WorkerPoolService, file: UploadedFile, params: Detect, choice: FaceChoice) =>
  Effect.flatMap(detect(pool, file.bytes, params, true), ({ faces }): Effect.Effect<Chosen, NoFace | SeveralFaces> =>
    faces.length > 1 && choice === "only"
      ? Effect.fail(new SeveralFaces({
        message: `"${file.field}" shows ${faces.length} faces: send a photo of one person, or add face=largest to use the largest`,
        field: file.field,
        faces: faces.length
      }))
      : largestOf(file, params, faces))

/**
 * Runs every effect to its end, then fails with the first failure. Interrupting a task still running on a
 * worker would cost the pool that worker (it recycles abandoned ones), so nothing is cut short.
 */
export const allSettled = <A, E>(effects: ReadonlyArray<Effect.Effect<A, E>>) =>
  // Two at a time: one request's photos should not fill the pool's queue and get themselves Overloaded.
  Effect.flatMap(Effect.all(effects, { concurrency: 2, mode: "either" }), (results) => {
    const failure = results.find(Either.isLeft)
    return failure === undefined ? Effect.succeed(results.flatMap((r) => Either.isRight(r) ? [r.right] : [])) : Effect.fail(failure.left)
  })

/** Cosine of two unit vectors, clamped against rounding and kept to 4 decimals. */
export const similarity = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  Math.round(Math.min(1, Math.max(-1, a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0))) * 10_000) / 10_000

/**
 * The group's handlers, for `HttpApiBuilder.group(api, "faces", build)` on any API holding `FacesApi`.
 * Needs WorkerPool, Upload, Gallery (for identification and the match threshold) and Jobs (`?async=true`).
 */
export const build = (handlers: HttpApiBuilder.Handlers.FromGroup<ApiError, never, typeof FacesApi>) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const upload = yield* Upload
    const gallery = yield* Gallery
    const jobs = yield* Jobs
    const one = (params: Detect, embed: boolean) => Effect.flatMap(upload.one(Media.image), (image) => detect(pool, image, params, embed))
    const later = (kind: "faces.detect" | "faces.embed", { minScore, model, timeoutMs }: Detect) =>
      Effect.flatMap(upload.one(Media.image), (image) =>
        Effect.map(jobs.submit({ kind, options: { model, minScore, timeoutMs } }, image), (job) => accepted(job.id, job.state)))
    const refuseAsync = (params: { readonly async?: boolean | undefined }, route: string) =>
      params.async === true ? Effect.fail(asyncNotOffered(route)) : Effect.void

    return handlers
      .handle("detect", ({ urlParams }) =>
        urlParams.async === true
          ? later("faces.detect", urlParams)
          : Effect.map(one(urlParams, false), (result) => ({ ...result, faces: result.faces.map(shown) })).pipe(Effect.withSpan("faces.detect")))
      .handle("embed", ({ urlParams }) =>
        urlParams.async === true ? later("faces.embed", urlParams) : Effect.map(one(urlParams, true), (result) => ({
          ...result,
          faces: result.faces.map((face) => ({ ...shown(face), embedding: face.embedding ?? [] }))
        })).pipe(Effect.withSpan("faces.embed")))
      .handle("verify", ({ urlParams }) =>
        Effect.gen(function*() {
          yield* refuseAsync(urlParams, "POST /v1/faces/verify")
          const files = yield* upload.all(Media.image)
          const [a, b] = ["a", "b"].map((field) => files.find((file) => file.field === field))
          if (a === undefined || b === undefined) {
            return yield* new MalformedRequest({ message: "verify takes two multipart files, \"a\" and \"b\", one face each" })
          }
          const [fa, fb] = yield* allSettled([largestFace(pool, a, urlParams), largestFace(pool, b, urlParams)])
          const threshold = urlParams.threshold ?? gallery.threshold
          const score = similarity(fa!.embedding, fb!.embedding)
          return { similarity: score, match: score >= threshold, threshold, a: shown(fa!.face), b: shown(fb!.face) }
        }).pipe(Effect.withSpan("faces.verify")))
      .handle("identify", ({ urlParams }) =>
        Effect.gen(function*() {
          yield* refuseAsync(urlParams, "POST /v1/faces/identify")
          const result = yield* one(urlParams, true)
          const threshold = urlParams.threshold ?? gallery.threshold
          const faces = yield* Effect.forEach(result.faces, (face) =>
            Effect.map(gallery.identify(face.embedding ?? [], threshold), (match) => ({ ...shown(face), match })))
          return { threshold, faces }
        }).pipe(Effect.withSpan("faces.identify")))
  })
