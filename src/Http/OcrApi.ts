/**
 * The OCR group: `POST /v1/ocr` reads an image or a PDF, every page of it, in the languages and format the
 * query asks for; `GET /v1/ocr/languages` lists the languages installed.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JobsUnavailable } from "../Jobs/Job.js"
import { OcrResult, TooManyPages, UnknownLanguage } from "../Layers/OcrDocument.js"
import { DocumentUnreadable, ImageTooLarge, ImageUndecodable, InferenceFailed } from "../Workers/Protocol.js"
import { Accepted } from "./Accepted.js"
import * as Media from "./Media.js"
import * as Query from "./Query.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

/**
 * The query: `lang` (tesseract's codes joined by `+`, default `eng`), `psm` (page segmentation mode 0–13,
 * tesseract.js's own by default), `dpi` (what PDF pages are rendered at, 36–600, default 300), `ocr`
 * (`auto`: a PDF page with text answers from its text layer; `force`: OCR every page), `format` (`json`,
 * `text`, `hocr`, `tsv`, `pdf`), `timeoutMs` (the whole document's deadline, capped by `INFERD_TASK_TIMEOUT`)
 * and `async`. Out of range is a 400.
 */
/** tesseract's `eng+deu`; a `+` left unescaped in a query reads as a space, so a space joins them too. */
const Lang = Schema.transform(
  Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_]*([+ ][a-z][a-z0-9_]*)*$/)).annotations({
    message: () => ({ message: "takes language codes joined by +, such as eng+deu (see /v1/ocr/languages)", override: true }),
    description: "tesseract's languages joined by +, such as eng+deu (see GET /v1/ocr/languages)"
  }),
  Schema.String,
  { strict: true, decode: (lang) => lang.replace(/ /g, "+"), encode: (lang) => lang }
)

export const OcrParams = Schema.Struct({
  lang: Schema.optionalWith(Lang, { default: () => "eng" }),
  psm: Schema.optional(Query.integer({ min: 0, max: 13, example: 3, description: "tesseract's page segmentation mode (tesseract.js's own when absent)" })),
  dpi: Schema.optionalWith(Query.integer({ min: 36, max: 600, example: 300, description: "what PDF pages are rendered at (default 300)" }), { default: () => 300 }),
  ocr: Schema.optionalWith(Query.literal(["auto", "force"], "auto: a PDF page that carries text answers from its text layer; force: OCR every page"), { default: () => "auto" as const }),
  format: Schema.optionalWith(Query.literal(["json", "text", "hocr", "tsv", "pdf"], "the answer's format (default json)"), { default: () => "json" as const }),
  timeoutMs: Schema.optional(Query.timeoutMs),
  async: Schema.optional(Query.async)
})

export const Languages = Schema.Struct({ languages: Schema.Array(Schema.String), default: Schema.String }).annotations({ identifier: "Languages" })

export class OcrApi extends HttpApiGroup.make("ocr")
  .add(
    HttpApiEndpoint.post("ocr", "/v1/ocr").setUrlParams(OcrParams).addSuccess(OcrResult).addSuccess(Accepted)
      .annotateContext(Media.uploadBody([Media.document]))
      .annotate(OpenApi.Summary, "Read the text of an image or a PDF, every page of it")
      .annotate(OpenApi.Description, "`?format=text|hocr|tsv|pdf` answers `text/plain`, hOCR (`application/xhtml+xml`), TSV with tesseract's header row, or a searchable PDF instead of JSON.")
      .addError(TooManyPages).addError(UnknownLanguage).addError(DocumentUnreadable)
  )
  .add(
    HttpApiEndpoint.get("languages", "/v1/ocr/languages").addSuccess(Languages)
      .annotate(OpenApi.Summary, "The OCR languages installed (`npm i @tesseract.js-data/<code>` adds one)")
  )
  .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
  .addError(ImageUndecodable).addError(ImageTooLarge).addError(InferenceFailed).addError(JobsUnavailable)
{}
