/**
 * The kinds of upload the endpoints take: which Content-Types each accepts and what the bytes must really be
 * (magic numbers, whatever the client declared), with the typed error for bytes that are not.
 */
import { OpenApi } from "@effect/platform"
import { Option } from "effect"
import { isPdf } from "../Workers/DocumentKind.js"
import { AudioUndecodable, ImageUndecodable } from "../Workers/Protocol.js"

export interface MediaKind<E> {
  readonly noun: string
  readonly types: ReadonlyArray<string>
  /** The format the bytes really are, if they are of this kind at all. */
  readonly sniff: (bytes: Uint8Array) => Option.Option<string>
  readonly undecodable: (message: string) => E
}

const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to))

type Signature = readonly [string, (b: Uint8Array) => boolean]
const sniffer = (signatures: ReadonlyArray<Signature>) => (bytes: Uint8Array) =>
  Option.fromNullable(signatures.find(([, matches]) => matches(bytes))?.[0])

export const image: MediaKind<ImageUndecodable> = {
  noun: "image",
  types: ["image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif"],
  sniff: sniffer([
    ["image/png", (b) => b[0] === 0x89 && ascii(b, 1, 4) === "PNG"],
    ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
    ["image/gif", (b) => ascii(b, 0, 4) === "GIF8"],
    ["image/webp", (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP"],
    ["image/tiff", (b) => ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*"],
    ["image/bmp", (b) => ascii(b, 0, 2) === "BM"]
  ]),
  undecodable: (message) => new ImageUndecodable({ message })
}

/** What OCR reads: any image, or a PDF (whose signature may follow up to a kilobyte of anything). */
export const document: MediaKind<ImageUndecodable> = {
  noun: "image or PDF",
  types: [...image.types, "application/pdf"],
  sniff: (bytes) =>
    Option.orElse(image.sniff(bytes), () => isPdf(bytes) ? Option.some("application/pdf") : Option.none()),
  undecodable: (message) => new ImageUndecodable({ message })
}

export const audio: MediaKind<AudioUndecodable> = {
  noun: "audio file",
  types: ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac", "audio/ogg", "audio/mpeg", "audio/mp3"],
  sniff: sniffer([
    ["audio/wav", (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WAVE"],
    ["audio/flac", (b) => ascii(b, 0, 4) === "fLaC"],
    ["audio/ogg", (b) => ascii(b, 0, 4) === "OggS"],
    // MP3: an ID3v2 tag, or straight into an MPEG audio frame (11 sync bits).
    ["audio/mpeg", (b) => ascii(b, 0, 3) === "ID3" || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)]
  ]),
  undecodable: (message) => new AudioUndecodable({ message })
}

const binary = { type: "string", format: "binary" }

/** How an endpoint takes its upload, for the document. */
export interface UploadShape {
  /** Multipart file fields (default `file`). */
  readonly fields?: ReadonlyArray<string>
  /** Whether the raw body is taken too (default true; false: multipart only). */
  readonly raw?: boolean
  /** Whether the (one) field may come several times, one file each. */
  readonly several?: boolean
}

const and = (words: ReadonlyArray<string>) => words.map((w) => `\`${w}\``).join(" and ")

/**
 * The request body of an upload endpoint, for the OpenAPI document: the endpoints read their bodies themselves
 * (to enforce limits and sniff types), so the framework cannot describe them. The raw body may name its type
 * or be `application/octet-stream`: the bytes' magic numbers decide either way.
 */
export const uploadBody = (kinds: ReadonlyArray<{ readonly noun: string; readonly types: ReadonlyArray<string> }>, shape: UploadShape = {}) => {
  const fields = shape.fields ?? ["file"]
  const raw = shape.raw ?? true
  const file = shape.several === true ? { type: "array", items: binary, description: "one or more files" } : binary
  const noun = kinds.map((k) => k.noun).join(" or ")
  const multipart = `multipart file field${fields.length > 1 ? "s" : ""} ${and(fields)}${shape.several === true ? " (several times for several files)" : ""}`
  return OpenApi.annotations({
    override: {
      requestBody: {
        required: true,
        description: raw ? `the ${noun} as the raw body, or as ${multipart}` : `${multipart}, each an ${noun}`,
        content: {
          ...(raw ? Object.fromEntries([...kinds.flatMap((k) => k.types), "application/octet-stream"].map((type) => [type, { schema: binary }])) : {}),
          "multipart/form-data": {
            schema: { type: "object", properties: Object.fromEntries(fields.map((f) => [f, file])), required: fields }
          }
        }
      }
    }
  })
}
