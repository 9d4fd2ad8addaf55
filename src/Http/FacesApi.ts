/**
 * The faces and gallery groups. Images come as the raw body or multipart files (read by Upload, limits and
 * magic bytes checked); detection and embedding run on the worker pool.
 *
 * - `POST /v1/faces/detect`, `/v1/faces/embed`, `/v1/faces/identify`: one image (raw or multipart `file`).
 * - `POST /v1/faces/verify`: multipart files `a` and `b`; the largest face of each is compared.
 * - `PUT /v1/gallery/{personId}` (images raw or multipart, each with a face), `GET /v1/gallery`,
 *   `DELETE /v1/gallery/{personId}`.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JobsUnavailable } from "../Jobs/Job.js"
import { GalleryStorageFailed, InvalidPersonId, Match, PersonNotFound, PersonSummary } from "../Layers/Gallery.js"
import { Overloaded, ShuttingDown, TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import { FaceBox, FaceModel, ImageTooLarge, ImageUndecodable, InferenceFailed, ModelUnavailable } from "../Workers/Protocol.js"
import { Accepted } from "./JobsApi.js"
import * as Media from "./Media.js"
import * as Query from "./Query.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

/** An uploaded image that had to show a face shows none; `field` names the upload (`a`, `b`, `file`, `body`). */
export class NoFace extends Schema.TaggedError<NoFace>()(
  "NoFace",
  { message: Schema.String, field: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {}

/**
 * The query of every endpoint that detects: `threshold` (face score a detection must exceed, 0–1, default
 * 0.7), `model` (`accurate` = UltraFace RFB-640, default; `fast` = RFB-320) and `timeoutMs` (the task's
 * deadline, capped by `INFERD_TASK_TIMEOUT`). Out of range is a 400. `async=true` on detect and embed makes a job;
 * verify, identify and enrolment answer it with a 400.
 */
export const DetectParams = Schema.Struct({
  threshold: Schema.optionalWith(Query.number({ min: 0, max: 1, description: "face score a detection must exceed (default 0.7)" }), { default: () => 0.7 }),
  model: Schema.optionalWith(Query.literal(FaceModel.literals, "accurate (UltraFace RFB-640, the default) or fast (RFB-320)"), { default: () => "accurate" as const }),
  timeoutMs: Schema.optional(Query.timeoutMs),
  /** Detect and embed only; verify, identify and enrolment answer it with a 400. */
  async: Schema.optional(Query.async)
})

export const DetectedFace = Schema.Struct({ box: FaceBox, score: Schema.Number })

export const Detection = Schema.Struct({
  width: Schema.Number,
  height: Schema.Number,
  faces: Schema.Array(DetectedFace),
  durationMs: Schema.Number
})

export const Embedding = Schema.Struct({
  width: Schema.Number,
  height: Schema.Number,
  faces: Schema.Array(Schema.Struct({ ...DetectedFace.fields, embedding: Schema.Array(Schema.Number) })),
  durationMs: Schema.Number
})

export const Verification = Schema.Struct({ similarity: Schema.Number, match: Schema.Boolean, threshold: Schema.Number })

export const Identification = Schema.Struct({
  faces: Schema.Array(Schema.Struct({ ...DetectedFace.fields, match: Schema.NullOr(Match) }))
})

const image = Media.uploadBody(Media.image)

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
    HttpApiEndpoint.post("verify", "/v1/faces/verify").setUrlParams(DetectParams).addSuccess(Verification).addError(NoFace)
      .annotateContext(Media.uploadBody(Media.image, ["a", "b"]))
      .annotate(OpenApi.Summary, "Whether the largest faces of images a and b are the same person")
  )
  .add(
    HttpApiEndpoint.post("identify", "/v1/faces/identify").setUrlParams(DetectParams).addSuccess(Identification)
      .annotateContext(image).annotate(OpenApi.Summary, "Name each face in an image from the gallery (null when no one matches)")
  )
  .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
  .addError(ImageUndecodable).addError(ImageTooLarge).addError(InferenceFailed).addError(ModelUnavailable)
  .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed).addError(JobsUnavailable)
{}

const Person = Schema.Struct({ personId: Schema.String })

export class GalleryApi extends HttpApiGroup.make("gallery")
  .add(
    HttpApiEndpoint.put("enroll", "/v1/gallery/:personId").setPath(Person).setUrlParams(DetectParams).addSuccess(PersonSummary)
      .annotateContext(Media.uploadBody(Media.image, ["file"]))
      .annotate(OpenApi.Description, "Enrolls a person from one or more photos (the raw body, or any number of multipart files), replacing earlier ones; the largest face of each photo is used.")
      .addError(InvalidPersonId).addError(NoFace).addError(GalleryStorageFailed)
      .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
      .addError(ImageUndecodable).addError(ImageTooLarge).addError(InferenceFailed).addError(ModelUnavailable)
      .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed)
  )
  .add(HttpApiEndpoint.get("list", "/v1/gallery").addSuccess(Schema.Struct({ people: Schema.Array(PersonSummary) })))
  .add(
    HttpApiEndpoint.del("remove", "/v1/gallery/:personId").setPath(Person).addSuccess(HttpApiSchema.NoContent)
      .addError(InvalidPersonId).addError(PersonNotFound).addError(GalleryStorageFailed)
  )
{}
