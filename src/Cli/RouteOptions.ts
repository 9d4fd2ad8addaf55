/**
 * A command's flags are its route's query options: `inferd ocr --psm 6 --dpi 150` sends `POST /v1/ocr?psm=6&dpi=150`,
 * and `--local` runs the task with the same options. They are checked by the route's own schema, so the CLI takes
 * the same ranges and defaults as the API and says the same one-line message for a bad value. Those schemas live
 * with the HTTP API, which is imported only when a command runs: the build keeps src/Http out of every start.
 */
import { Options } from "@effect/cli"
import { Data, Effect, Option, ParseResult, Schema } from "effect"
import type { AnalyzeParams } from "../Http/AudioApi.js"
import type { DetectParams } from "../Http/FacesApi.js"
import type { OcrParams } from "../Http/OcrApi.js"
import type { Kind } from "./Inputs.js"

/** A flag's value is outside what its option takes (exit code 2, as any wrong usage). */
export class OptionInvalid extends Data.TaggedError("OptionInvalid")<{ readonly message: string }> {}

/** The flags given, as the route's query: only those given, so the daemon applies its own defaults to the rest. */
export type Query = Readonly<Record<string, string>>

/** The flags of one run, as sent (`query`) and as the task reads them once decoded and defaulted (`options`). */
export type Settings =
  | { readonly kind: "ocr"; readonly query: Query; readonly options: Omit<typeof OcrParams.Type, "async"> }
  | { readonly kind: "faces"; readonly query: Query; readonly options: Omit<typeof DetectParams.Type, "async"> }
  | { readonly kind: "audio"; readonly query: Query; readonly options: Omit<typeof AnalyzeParams.Type, "async"> }

const described = <A>(option: Options.Options<A>, pseudo: string, description: string) =>
  option.pipe(Options.withPseudoName(pseudo), Options.optional, Options.withDescription(description))

const timeoutMs = described(Options.integer("timeout-ms"), "MS", "each input's deadline in milliseconds, capped by the daemon's INFERD_TASK_TIMEOUT (default: none of its own)")

/** Each command's flags, named as the query options in kebab case; every one optional, its default the route's. */
export const flags = {
  ocr: Options.all({
    lang: described(Options.text("lang"), "LANGS", "the languages to read, joined by + (default eng; see GET /v1/ocr/languages)"),
    psm: described(Options.integer("psm"), "0-13", "tesseract's page segmentation mode (default: tesseract.js's own)"),
    dpi: described(Options.integer("dpi"), "36-600", "what PDF pages are rendered at (default 300)"),
    ocr: described(Options.choice("ocr", ["auto", "force"]), "auto|force", "auto: a PDF page with a text layer is read from it; force: OCR every page (default auto)"),
    format: described(
      Options.choice("format", ["json", "text", "hocr", "tsv", "pdf"]),
      "json|text|hocr|tsv|pdf",
      "what each result is written as: <name>.json, .txt, .hocr, .tsv or a searchable .pdf (default json)"
    ),
    timeoutMs
  }),
  faces: Options.all({
    model: described(Options.choice("model", ["accurate", "fast"]), "accurate|fast", "accurate: YuNet at 640 pixels on the longer side; fast: at 384 (default accurate)"),
    minScore: described(Options.float("min-score"), "0-1", "the detector score a face must reach (default 0.85)"),
    timeoutMs
  }),
  audio: Options.all({
    threshold: described(Options.float("threshold"), "0.01-0.99", "speech probability that starts a segment (default 0.5)"),
    minSpeechMs: described(Options.integer("min-speech-ms"), "MS", "shorter speech segments are dropped (default 250)"),
    minSilenceMs: described(Options.integer("min-silence-ms"), "MS", "silence that ends a segment (default 100)"),
    speechPadMs: described(Options.integer("speech-pad-ms"), "MS", "milliseconds added to each side of a segment (default 30)"),
    timeoutMs
  })
} as const

/** The flags given, as query text. */
const queryOf = (given: Readonly<Record<string, Option.Option<string | number>>>): Query =>
  Object.fromEntries(Object.entries(given).flatMap(([name, value]) => Option.isSome(value) ? [[name, String(value.value)]] : []))

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** One line naming the flag, as the API's MalformedRequest names the parameter. */
const invalid = (query: Query) => (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const name = String(issue?.path[0] ?? "")
  return new OptionInvalid({ message: `--${kebab(name)} ${issue?.message ?? "is invalid"} (got "${query[name] ?? ""}")` })
}

const decode = <A, I>(schema: Schema.Schema<A, I>, query: Query) => Effect.mapError(Schema.decodeUnknown(schema)(query), invalid(query))

/** Checks a command's flags with its route's schema and fills in the defaults. */
export const settle = (kind: Kind, given: Readonly<Record<string, Option.Option<string | number>>>): Effect.Effect<Settings, OptionInvalid> => {
  const query = queryOf(given)
  switch (kind) {
    case "ocr":
      return Effect.flatMap(Effect.promise(() => import("../Http/OcrApi.js")), ({ OcrParams }) =>
        Effect.map(decode(OcrParams.omit("async"), query), (options) => ({ kind, query, options })))
    case "faces":
      return Effect.flatMap(Effect.promise(() => import("../Http/FacesApi.js")), ({ DetectParams }) =>
        Effect.map(decode(DetectParams.omit("async"), query), (options) => ({ kind, query, options })))
    case "audio":
      return Effect.flatMap(Effect.promise(() => import("../Http/AudioApi.js")), ({ AnalyzeParams }) =>
        Effect.map(decode(AnalyzeParams.omit("async"), query), (options) => ({ kind, query, options })))
  }
}
