/** POST /v1/ocr: the upload goes to a worker as transferred bytes; the main thread never decodes it. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import * as Tasks from "../Pool/Tasks.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import { Jobs } from "../Jobs/Jobs.js"
import { Api } from "./Api.js"
import { accepted } from "./JobsHandlers.js"
import * as Media from "./Media.js"
import { Upload } from "./Upload.js"

export const layer = HttpApiBuilder.group(Api, "ocr", (handlers) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const upload = yield* Upload
    const jobs = yield* Jobs
    return handlers.handle("ocr", ({ urlParams: { async, ...options } }) =>
      Effect.gen(function*() {
        const image = yield* upload.one(Media.image)
        if (async === true) {
          const job = yield* jobs.submit({ kind: "ocr", options }, image)
          return accepted(job.id, job.state)
        }
        return yield* pool.submit(Tasks.ocr(image), { timeout: options.timeoutMs, bytes: image.byteLength })
      }).pipe(Effect.withSpan("ocr")))
  }))
