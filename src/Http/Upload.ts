/**
 * Upload: reads an image from a request, as the raw body or as multipart field `file`, within named limits.
 * The server has no body limit of its own and HttpApi would read any body without checking its type
 * (research/effect-platform.md §6), so sizes, parts and magic bytes are checked here.
 */
import { HttpApiSchema, HttpServerRequest, Multipart } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Chunk, Config, Context, Effect, Layer, Option, Schema, Stream } from "effect"
import { ImageUndecodable } from "../Workers/Protocol.js"

/** The body (or the multipart file, or the number of parts) is over a limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { message: Schema.String, limit: Schema.Number, unit: Schema.Literal("bytes", "parts") },
  HttpApiSchema.annotations({ status: 413 })
) {}

/** The Content-Type is not one this endpoint takes. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  { message: Schema.String, contentType: Schema.String, supported: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 415 })
) {}

/** The request is malformed: an empty body, a broken multipart body, a missing `file` field. */
export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()(
  "MalformedRequest",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

export type UploadError = PayloadTooLarge | UnsupportedMediaType | MalformedRequest | ImageUndecodable

export const imageTypes = ["image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif"] as const

const signatures: ReadonlyArray<readonly [string, (b: Uint8Array) => boolean]> = [
  ["image/png", (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47],
  ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ["image/gif", (b) => b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38],
  ["image/webp", (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP"],
  ["image/tiff", (b) => ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*"],
  ["image/bmp", (b) => b[0] === 0x42 && b[1] === 0x4d]
]
const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to))

/** The format the bytes really are, whatever the client declared. */
export const sniff = (bytes: Uint8Array): Option.Option<string> =>
  Option.fromNullable(signatures.find(([, matches]) => matches(bytes))?.[0])

export interface UploadLimits {
  /** `INFERD_MAX_BODY`: bytes of one request body or uploaded file (default 20 MiB). */
  readonly maxBody: number
  /** `INFERD_MAX_PARTS`: parts of one multipart body (default 16). */
  readonly maxParts: number
}

export interface UploadService {
  readonly limits: UploadLimits
  /** The uploaded image's bytes, in a buffer of their own (so it can be transferred to a worker). */
  readonly image: Effect.Effect<Uint8Array, UploadError, HttpServerRequest.HttpServerRequest>
}

export class Upload extends Context.Tag("inferd/Upload")<Upload, UploadService>() {}

const tooLarge = (limit: number) =>
  new PayloadTooLarge({ message: `the upload is over the limit of ${limit} bytes (INFERD_MAX_BODY)`, limit, unit: "bytes" })

/** Concatenates chunks into one fresh buffer, failing as soon as the running total passes the limit. */
const collect = <E>(stream: Stream.Stream<Uint8Array, E>, limit: number) =>
  stream.pipe(
    Stream.mapAccumEffect(0, (total, chunk) =>
      total + chunk.byteLength > limit ? Effect.fail(tooLarge(limit)) : Effect.succeed([total + chunk.byteLength, chunk] as const)),
    Stream.runCollect,
    Effect.map((chunks) => {
      const out = new Uint8Array(Chunk.reduce(chunks, 0, (n, c) => n + c.byteLength))
      Chunk.reduce(chunks, 0, (offset, c) => (out.set(c, offset), offset + c.byteLength))
      return out
    })
  )

/**
 * Reads and drops the rest of a body refused for its declared size, so the client, still sending, gets to
 * read the 413 and can reuse the connection. Bodies far over the limit are not worth reading: the server
 * then closes the connection instead (see Server.ts).
 */
const discardBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.async<void>((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    if (incoming.complete || incoming.destroyed) return resume(Effect.void)
    const done = () => resume(Effect.void)
    incoming.once("end", done).once("close", done).once("error", done).resume()
  }).pipe(Effect.timeout("5 seconds"), Effect.ignore)

const checkImage = (bytes: Uint8Array): Effect.Effect<Uint8Array, MalformedRequest | ImageUndecodable> => {
  if (bytes.byteLength === 0) return Effect.fail(new MalformedRequest({ message: "the request has no image: the body is empty" }))
  if (Option.isNone(sniff(bytes))) {
    return Effect.fail(new ImageUndecodable({ message: `the body is not a ${imageTypes.join(", ")} image (unrecognised file signature)` }))
  }
  return Effect.succeed(bytes)
}

const multipartError = (limits: UploadLimits) => (error: Multipart.MultipartError) => {
  switch (error.reason) {
    case "TooManyParts":
      return new PayloadTooLarge({ message: `the multipart body has more than ${limits.maxParts} parts (INFERD_MAX_PARTS)`, limit: limits.maxParts, unit: "parts" })
    case "FileTooLarge":
    case "FieldTooLarge":
    case "BodyTooLarge":
      return tooLarge(limits.maxBody)
    default:
      return new MalformedRequest({ message: `the multipart body could not be parsed: ${error.message}` })
  }
}

const fromMultipart = (request: HttpServerRequest.HttpServerRequest, limits: UploadLimits) =>
  request.multipartStream.pipe(
    Stream.filter((part): part is Multipart.File => Multipart.isFile(part) && part.key === "file"),
    Stream.take(1),
    Stream.mapEffect((file) => collect(file.content, limits.maxBody)),
    Stream.runHead,
    Multipart.withLimits({ maxParts: Option.some(limits.maxParts), maxFileSize: Option.some(limits.maxBody), maxTotalSize: Option.some(limits.maxBody + 64 * 1024) }),
    Effect.mapError((error) => error instanceof PayloadTooLarge ? error : multipartError(limits)(error)),
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new MalformedRequest({ message: "the multipart body has no file field named \"file\"" })),
      onSome: Effect.succeed
    }))
  )

export const make = (limits: UploadLimits): UploadService => ({
  limits,
  image: Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = Number(request.headers["content-length"] ?? "0")
    const contentType = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
    // Refuse at once what the client says is too big; multipart framing gets some slack beyond the file.
    const slack = contentType === "multipart/form-data" ? 64 * 1024 : 0
    if (declared > limits.maxBody + slack) {
      if (declared <= 4 * limits.maxBody) yield* discardBody(request)
      return yield* tooLarge(limits.maxBody)
    }
    if (contentType === "multipart/form-data") {
      return yield* fromMultipart(request, limits).pipe(
        Effect.tapError(() => declared <= 4 * limits.maxBody ? discardBody(request) : Effect.void),
        Effect.flatMap(checkImage)
      )
    }
    if (!(imageTypes as ReadonlyArray<string>).includes(contentType)) {
      return yield* new UnsupportedMediaType({
        message: `Content-Type "${contentType}" is not supported: send an image as the raw body or as multipart field "file"`,
        contentType,
        supported: [...imageTypes, "multipart/form-data"]
      })
    }
    const body = yield* collect(request.stream, limits.maxBody).pipe(
      Effect.catchTag("RequestError", (error) => new MalformedRequest({ message: `the body could not be read: ${error.message}` }))
    )
    return yield* checkImage(body)
  })
})

export const layer = Layer.effect(
  Upload,
  Effect.gen(function*() {
    const maxBody = yield* Config.integer("INFERD_MAX_BODY").pipe(Config.withDefault(20 * 1024 * 1024))
    const maxParts = yield* Config.integer("INFERD_MAX_PARTS").pipe(Config.withDefault(16))
    return make({ maxBody, maxParts })
  })
)
