/** POST /v1/ocr: the upload goes to the workers as bytes, a page per task; the main thread never decodes it. */
import { HttpApiBuilder } from "@effect/platform"
import { Duration, Effect } from "effect"
import * as OcrDocument from "../Layers/OcrDocument.js"
import { taskTimeout, WorkerPool } from "../Layers/WorkerPool.js"
import { Jobs } from "../Fibers/Jobs.js"
import { Api } from "./Api.js"
import { accepted } from "./JobsHandlers.js"
import * as Media from "./Media.js"
import { Upload } from "./Upload.js"

export const layer = HttpApiBuilder.group(Api, "ocr", (handlers) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const upload = yield* Upload
    const jobs = yield* Jobs
    const maxPages = yield* OcrDocument.maxPages
    const deadline = Duration.toMillis(yield* taskTimeout)
    return handlers.handle("ocr", ({ urlParams }) =>
      Effect.gen(function*() {
        const image = yield* upload.one(Media.image)
        if (urlParams.async === true) {
          const job = yield* jobs.submit("ocr", image, "image")
          return accepted(job.id, job.state)
        }
        // The deadline is the whole document's, as the client waits for all of it.
        return yield* OcrDocument.read(pool, image, { maxPages, timeout: Math.min(deadline, urlParams.timeoutMs ?? deadline) })
      }).pipe(Effect.withSpan("ocr")))
  }))
