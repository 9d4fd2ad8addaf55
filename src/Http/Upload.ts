/**
 * Upload: reads an image from a request, as the raw body or as multipart field `file`, within named limits.
 * @effect/platform's Node server applies no body limit to requests (its 10 MiB `MaxBodySize` covers only
 * building the server), and HttpApi reads any body that is not JSON, form or text as bytes without checking
 * the declared type, so sizes, parts and magic bytes are checked here.
 */
import { HttpApiSchema, HttpServerRequest, Multipart } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Chunk, Config, Context, Effect, FiberRef, Layer, Option, Schema, Stream } from "effect"
import * as SharedConfig from "../Layers/SharedConfig.js"
import type { MediaKind } from "./Media.js"

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

/**
 * The request is malformed: an empty body, a broken multipart body, a missing `file` field, a query option the
 * route does not take or a value it cannot (`parameter` names it), JSON that does not parse.
 */
export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()(
  "MalformedRequest",
  { message: Schema.String, parameter: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({ status: 400 })
) {}

// Multipart framing gets some room beyond the files themselves.
const slack = 64 * 1024

/**
 * Raw bodies a client sends without naming the type: `application/octet-stream` (what the docs page's binary
 * mode and many HTTP clients send) or no Content-Type at all, which RFC 9110 lets a server treat as
 * octet-stream. The bytes' type is decided by their magic numbers anyway.
 */
const untyped = ["application/octet-stream", ""]

/** What reading an upload of a kind whose undecodable error is `E` can fail with. */
export type UploadError<E> = PayloadTooLarge | UnsupportedMediaType | MalformedRequest | E

/** One uploaded file: its multipart field name (`body` for a raw body) and its bytes. */
export interface UploadedFile {
  readonly field: string
  readonly bytes: Uint8Array
}

export interface UploadLimits {
  /** `INFERD_MAX_BODY`: bytes of one request body or uploaded file (default 20 MiB). */
  readonly maxBody: number
  /** `INFERD_MAX_PARTS`: parts of one multipart body (default 16). */
  readonly maxParts: number
}

/**
 * Reads uploads. Bytes always come back in a buffer of their own, so they can be transferred to a worker.
 */
export interface UploadService {
  readonly limits: UploadLimits
  /** The raw body, or multipart field `file`. */
  readonly one: <E>(kind: MediaKind<E>) => Effect.Effect<Uint8Array, UploadError<E>, HttpServerRequest.HttpServerRequest>
  /** The raw body as one file, or every file of a multipart body, each checked to be of the kind. */
  readonly all: <E>(kind: MediaKind<E>) => Effect.Effect<ReadonlyArray<UploadedFile>, UploadError<E>, HttpServerRequest.HttpServerRequest>
}

export class Upload extends Context.Tag("inferd/Upload")<Upload, UploadService>() {}

const tooLarge = (limit: number) =>
  new PayloadTooLarge({ message: `the upload is over the limit of ${limit} bytes (INFERD_MAX_BODY)`, limit, unit: "bytes" })

/** Bytes of request bodies read by this request's fiber, for the access log (a chunked upload declares no length). */
export const bytesRead = FiberRef.unsafeMake(0)

/**
 * Concatenates chunks into one fresh buffer, failing once the body is over the limit. The stream is read to
 * its end (up to `cap` bytes) even then: failing mid-stream would destroy the request and reset the
 * connection under a client still sending, which would never read the 413.
 */
const collect = <E>(stream: Stream.Stream<Uint8Array, E>, limit: number, cap: number) =>
  Effect.flatMap(
    Stream.runFoldEffect(stream, { total: 0, chunks: [] as Array<Uint8Array> }, (acc, chunk) => {
      acc.total += chunk.byteLength
      if (acc.total > cap) return Effect.fail(tooLarge(limit))
      if (acc.total <= limit) acc.chunks.push(chunk)
      return Effect.succeed(acc)
    }),
    ({ total, chunks }) => Effect.zipRight(FiberRef.update(bytesRead, (n) => n + total), Effect.suspend(() => {
      if (total > limit) return Effect.fail(tooLarge(limit))
      const out = new Uint8Array(total)
      chunks.reduce((offset, c) => (out.set(c, offset), offset + c.byteLength), 0)
      return Effect.succeed(out)
    }))
  )

/**
 * Reads and drops the rest of a refused body, so that the client, still sending, gets to read the 413 (a
 * server that closes while the client writes makes the client's kernel reset the connection, and the answer
 * is lost) and can reuse the connection. Past `cap` bytes it stops: the server then closes the connection
 * (see Server.ts). A client waiting for `100 Continue` sends nothing, so there is nothing to drop.
 */
const discardBody = (request: HttpServerRequest.HttpServerRequest, cap: number) =>
  Effect.async<void>((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    if (incoming.complete || incoming.destroyed || /100-continue/i.test(incoming.headers.expect ?? "")) return resume(Effect.void)
    let dropped = 0
    const onData = (chunk: Buffer) => {
      dropped += chunk.byteLength
      if (dropped > cap) done()
    }
    const done = () => {
      incoming.off("data", onData).pause()
      resume(Effect.void)
    }
    incoming.on("data", onData).once("end", done).once("close", done).once("error", done).resume()
  }).pipe(Effect.timeout("10 seconds"), Effect.ignore)

/** Whether a request's declared size fits the limits (with room for multipart framing); for `Expect: 100-continue`. */
export const fits = (limits: UploadLimits, headers: Readonly<Record<string, string | Array<string> | undefined>>) => {
  const declared = Number(headers["content-length"] ?? "0")
  return !(declared > limits.maxBody + slack)
}

const check = <E>(kind: MediaKind<E>, file: UploadedFile): Effect.Effect<UploadedFile, MalformedRequest | E> => {
  if (file.bytes.byteLength === 0) {
    return Effect.fail(new MalformedRequest({ message: `the request has no ${kind.noun}: "${file.field}" is empty` }))
  }
  if (Option.isNone(kind.sniff(file.bytes))) {
    return Effect.fail(kind.undecodable(`"${file.field}" is not an ${kind.noun} of a supported type (${kind.types.join(", ")}): unrecognised file signature`))
  }
  return Effect.succeed(file)
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


/** Every file part of a multipart body (only the first `file` one when `onlyFile`), within the limits. */
const fromMultipart = (request: HttpServerRequest.HttpServerRequest, limits: UploadLimits, onlyFile: boolean) =>
  request.multipartStream.pipe(
    Stream.mapEffect((part) => {
      if (!Multipart.isFile(part)) return Effect.succeedNone
      // A file part's content must be read, even to throw it away, or the parser never reaches the next part.
      if (onlyFile && part.key !== "file") return Effect.as(Stream.runDrain(part.content), Option.none())
      return Effect.map(collect(part.content, limits.maxBody, limits.maxBody), (bytes) => Option.some<UploadedFile>({ field: part.key, bytes }))
    }),
    Stream.filterMap((file) => file),
    onlyFile ? Stream.take(1) : (stream) => stream,
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Multipart.withLimits({ maxParts: Option.some(limits.maxParts), maxFileSize: Option.some(limits.maxBody), maxTotalSize: Option.some(limits.maxBody + slack) }),
    Effect.mapError((error) => error instanceof PayloadTooLarge ? error : multipartError(limits)(error))
  )

export const make = (limits: UploadLimits): UploadService => {
  const read = <E>(kind: MediaKind<E>, onlyFile: boolean) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const declared = Number(request.headers["content-length"] ?? "0")
      const header = request.headers["content-type"] ?? ""
      const contentType = header.split(";")[0]!.trim().toLowerCase()
      const multipart = contentType === "multipart/form-data"
      const cap = 4 * limits.maxBody
      // Refuse at once what the client says is too big.
      if (declared > limits.maxBody + (multipart ? slack : 0)) {
        if (declared <= cap) yield* discardBody(request, cap)
        return yield* tooLarge(limits.maxBody)
      }
      if (multipart) {
        if (!/;\s*boundary=/i.test(header)) {
          yield* discardBody(request, cap)
          return yield* new MalformedRequest({ message: "Content-Type multipart/form-data needs its boundary parameter (multipart/form-data; boundary=...)" })
        }
        const files = yield* fromMultipart(request, limits, onlyFile).pipe(
          Effect.tapError(() => discardBody(request, cap))
        )
        if (files.length === 0) {
          return yield* new MalformedRequest({ message: onlyFile ? "the multipart body has no file field named \"file\"" : "the multipart body has no file" })
        }
        return yield* Effect.forEach(files, (file) => check(kind, file))
      }
      if (!kind.types.includes(contentType) && !untyped.includes(contentType)) {
        yield* discardBody(request, cap)
        return yield* new UnsupportedMediaType({
          message: `Content-Type "${contentType}" is not supported: send an ${kind.noun} (${kind.types.join(", ")}) as the raw body or as a multipart file`,
          contentType,
          supported: [...kind.types, "application/octet-stream", "multipart/form-data"]
        })
      }
      const bytes = yield* collect(request.stream, limits.maxBody, cap).pipe(
        Effect.catchTag("RequestError", (error) => new MalformedRequest({ message: `the body could not be read: ${error.message}` })),
        Effect.tapError(() => discardBody(request, cap))
      )
      return [yield* check(kind, { field: "body", bytes })]
    })
  return {
    limits,
    one: (kind) => Effect.map(read(kind, true), (files) => files[0]!.bytes),
    all: (kind) => read(kind, false)
  }
}

export const layer = Layer.effect(
  Upload,
  Effect.gen(function*() {
    const maxBody = yield* SharedConfig.maxBody
    const maxParts = yield* Config.integer("INFERD_MAX_PARTS").pipe(Config.withDefault(16))
    return make({ maxBody, maxParts })
  })
)
