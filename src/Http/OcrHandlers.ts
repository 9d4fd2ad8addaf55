/**
 * POST /v1/ocr: the upload goes to the workers as bytes, a page per task, and the answer is written in the
 * format asked for; the main thread never decodes or renders anything. GET /v1/ocr/languages.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Duration, Effect } from "effect"
import * as OcrDocument from "../Layers/OcrDocument.js"
import { taskTimeout } from "../Pool/PoolOptions.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import { installedLanguages } from "../Pool/WorkerSettings.js"
import { Jobs } from "../Jobs/Jobs.js"
import { Api } from "./Api.js"
import { accepted } from "./Accepted.js"
import { jsonOnly } from "./JobsHandlers.js"
import * as Media from "./Media.js"
import { Upload } from "./Upload.js"

export const layer = HttpApiBuilder.group(Api, "ocr", (handlers) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const upload = yield* Upload
    const jobs = yield* Jobs
    const maxPages = yield* OcrDocument.maxPages
    const deadline = Duration.toMillis(yield* taskTimeout)
    const languages = installedLanguages()
    return handlers
      .handle("ocr", ({ urlParams: { async, timeoutMs, ...ocr } }) =>
        Effect.gen(function*() {
          yield* OcrDocument.checkLanguages(ocr.lang, languages)
          const document = yield* upload.one(Media.document)
          if (async === true) {
            yield* jsonOnly(ocr.format)
            const job = yield* jobs.submit({ kind: "ocr", options: { ...ocr, timeoutMs } }, document)
            return accepted(job.id, job.state)
          }
          // The deadline is the whole document's, as the client waits for all of it.
          const read = yield* OcrDocument.read(pool, document, { maxPages, ocr, timeout: Math.min(deadline, timeoutMs ?? deadline) })
          if (ocr.format === "json") return read.result
          const { body, contentType } = yield* OcrDocument.output(pool, read, ocr.format)
          return typeof body === "string"
            ? HttpServerResponse.text(body, { contentType })
            : HttpServerResponse.uint8Array(body, { contentType })
        }).pipe(Effect.withSpan("ocr")))
      .handle("languages", () => Effect.succeed({ languages: Object.keys(languages).sort(), default: "eng" }))
  }))
