/**
 * The faces and gallery groups. Images come as the raw body or multipart files (read by Upload, limits and
 * magic bytes checked); detection and embedding run on the worker pool.
 *
 * - `POST /v1/faces/detect`, `/v1/faces/embed`, `/v1/faces/identify`: one image (raw or multipart `file`).
 * - `POST /v1/faces/verify`: multipart files `a` and `b`; the largest face of each is compared.
 * - `PUT /v1/gallery/{personId}` (photos raw or multipart, one face each unless `face=largest`),
 *   `GET /v1/gallery`, `GET /v1/gallery/{personId}`, `DELETE /v1/gallery/{personId}`.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JobsUnavailable } from "../Jobs/Job.js"
import { DEFAULT_THRESHOLD, GalleryStorageFailed, InvalidPersonId, Match, PersonNotFound, PersonSummary, PERSON_ID } from "../Layers/Gallery.js"
import { Overloaded, ShuttingDown, TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import {
  FACE_DEFAULTS, FaceBox, FaceModel, ImageTooLarge, ImageUndecodable, InferenceFailed, Landmarks, ModelUnavailable
} from "../Workers/Protocol.js"
import { Accepted } from "./Accepted.js"
import * as Media from "./Media.js"
import * as Query from "./Query.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

/** An uploaded image that had to show a face shows none; `field` names the upload (`a`, `b`, `file`, `body`). */
export class NoFace extends Schema.TaggedError<NoFace>()(
  "NoFace",
  { message: Schema.String, field: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {}

/** An enrolment photo shows several faces and the request did not say which (`face=largest`). */
export class SeveralFaces extends Schema.TaggedError<SeveralFaces>()(
  "SeveralFaces",
  { message: Schema.String, field: Schema.String, faces: Schema.Number },
  HttpApiSchema.annotations({ status: 422 })
) {}

/**
 * How every face endpoint detects: `model` (`accurate`, default: YuNet with the image's longer side at 640
 * pixels; `fast`: at 384), `minScore` (the detector score a face must reach, 0–1, default 0.85) and
 * `timeoutMs` (the task's deadline, capped by `INFERD_TASK_TIMEOUT`). Out of range is a 400. `async=true` on
 * detect and embed makes a job; verify, identify and enrolment answer it with a 400.
 */
export const DetectParams = Schema.Struct({
  model: Schema.optionalWith(Query.literal(FaceModel.literals, "accurate (the default): YuNet at 640 pixels on the image's longer side; fast: at 384"), {
    default: () => FACE_DEFAULTS.model
  }),
  minScore: Schema.optionalWith(Query.number({ min: 0, max: 1, example: FACE_DEFAULTS.minScore, description: `the detector score a face must reach (default ${FACE_DEFAULTS.minScore})` }), {
    default: () => FACE_DEFAULTS.minScore
  }),
  timeoutMs: Schema.optional(Query.timeoutMs),
  /** Detect and embed only; verify, identify and enrolment answer it with a 400. */
  async: Schema.optional(Query.async)
})

/** Verify and identify also take `threshold`: the cosine similarity for a match (default `INFERD_FACE_MATCH_THRESHOLD`). */
export const MatchParams = Schema.Struct({
  ...DetectParams.fields,
  threshold: Schema.optional(Query.number({ min: 0, max: 1, example: DEFAULT_THRESHOLD, description: `the cosine similarity for a match (default INFERD_FACE_MATCH_THRESHOLD, ${DEFAULT_THRESHOLD} unless set)` }))
})

/** Which face of an enrolment photo: `only` (default: a photo with several is refused) or `largest`. */
export const FaceChoice = Query.literal(["only", "largest"], "only (the default): a photo must show one face; largest: use the largest face of each photo")
export type FaceChoice = typeof FaceChoice.Type

export const EnrollParams = Schema.Struct({ ...DetectParams.fields, face: Schema.optionalWith(FaceChoice, { default: () => "only" as const }) })

/** A face: its box and five landmarks in upright original pixels, and the detector's score. */
export const DetectedFace = Schema.Struct({ box: FaceBox, score: Schema.Number, landmarks: Landmarks })

export const Detection = Schema.Struct({
  width: Schema.Number,
  height: Schema.Number,
  faces: Schema.Array(DetectedFace),
  durationMs: Schema.Number
}).annotations({ identifier: "Detection" })

export const Embedding = Schema.Struct({
  width: Schema.Number,
  height: Schema.Number,
  faces: Schema.Array(Schema.Struct({ ...DetectedFace.fields, embedding: Schema.Array(Schema.Number) })),
  durationMs: Schema.Number
}).annotations({ identifier: "Embedding" })

/** `a` and `b` are the faces compared (the largest of each image). */
export const Verification = Schema.Struct({
  similarity: Schema.Number,
  match: Schema.Boolean,
  threshold: Schema.Number,
  a: DetectedFace,
  b: DetectedFace
}).annotations({ identifier: "Verification" })

export const Identification = Schema.Struct({
  threshold: Schema.Number,
  faces: Schema.Array(Schema.Struct({ ...DetectedFace.fields, match: Schema.NullOr(Match) }))
}).annotations({ identifier: "Identification" })

/** The person enrolled, and the face used from each photo (`field` names the upload). */
export const Enrolment = Schema.Struct({
  ...PersonSummary.fields,
  faces: Schema.Array(Schema.Struct({ field: Schema.String, ...DetectedFace.fields }))
}).annotations({ identifier: "Enrolment" })

const image = Media.uploadBody([Media.image])

export class FacesApi extends HttpApiGroup.make("faces")
  .add(
    HttpApiEndpoint.post("detect", "/v1/faces/detect").setUrlParams(DetectParams).addSuccess(Detection).addSuccess(Accepted)
      .annotateContext(image).annotate(OpenApi.Summary, "Find the faces in an image")
  )
  .add(
    HttpApiEndpoint.post("embed", "/v1/faces/embed").setUrlParams(DetectParams).addSuccess(Embedding).addSuccess(Accepted)
      .annotateContext(image).annotate(OpenApi.Summary, "Find the faces in an image, each with a 128-number embedding")
  )
  .add(
    HttpApiEndpoint.post("verify", "/v1/faces/verify").setUrlParams(MatchParams).addSuccess(Verification).addError(NoFace)
      .annotateContext(Media.uploadBody([Media.image], { fields: ["a", "b"], raw: false }))
      .annotate(OpenApi.Summary, "Whether the largest faces of images a and b are the same person")
  )
  .add(
    HttpApiEndpoint.post("identify", "/v1/faces/identify").setUrlParams(MatchParams).addSuccess(Identification)
      .annotateContext(image).annotate(OpenApi.Summary, "Name each face in an image from the gallery (null when no one matches)")
  )
  .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
  .addError(ImageUndecodable).addError(ImageTooLarge).addError(InferenceFailed).addError(ModelUnavailable)
  .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed).addError(JobsUnavailable)
{}

// The id is checked by the gallery (InvalidPersonId); the document states the same rule.
const Person = Schema.Struct({
  personId: Schema.String.annotations({ jsonSchema: { type: "string", pattern: PERSON_ID.source }, description: "1 to 64 of letters, digits, ., _ and -" })
})

export class GalleryApi extends HttpApiGroup.make("gallery")
  .add(
    HttpApiEndpoint.put("enroll", "/v1/gallery/:personId").setPath(Person).setUrlParams(EnrollParams).addSuccess(Enrolment)
      .annotateContext(Media.uploadBody([Media.image], { several: true }))
      .annotate(
        OpenApi.Description,
        "Enrolls a person from one or more photos (the raw body, or any number of multipart files), replacing earlier ones; one embedding is kept per photo. A photo must show one face, unless `face=largest` says to take the largest."
      )
      .addError(InvalidPersonId).addError(NoFace).addError(SeveralFaces).addError(GalleryStorageFailed)
      .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
      .addError(ImageUndecodable).addError(ImageTooLarge).addError(InferenceFailed).addError(ModelUnavailable)
      .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed)
  )
  .add(HttpApiEndpoint.get("list", "/v1/gallery").addSuccess(Schema.Struct({ people: Schema.Array(PersonSummary) })))
  .add(
    HttpApiEndpoint.get("get", "/v1/gallery/:personId").setPath(Person).addSuccess(PersonSummary)
      .addError(InvalidPersonId).addError(PersonNotFound)
      .annotate(OpenApi.Summary, "One enrolled person: how many photos, and when")
  )
  .add(
    HttpApiEndpoint.del("remove", "/v1/gallery/:personId").setPath(Person).addSuccess(HttpApiSchema.NoContent)
      .addError(InvalidPersonId).addError(PersonNotFound).addError(GalleryStorageFailed)
  )
{}
