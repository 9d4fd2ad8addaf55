/** POST /v1/ocr: the upload goes to a worker as transferred bytes; the main thread never decodes it. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import * as Tasks from "../Layers/Tasks.js"
import { WorkerPool } from "../Layers/WorkerPool.js"
import { Api } from "./Api.js"
import * as Media from "./Media.js"
import { Upload } from "./Upload.js"

export const layer = HttpApiBuilder.group(Api, "ocr", (handlers) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const upload = yield* Upload
    return handlers.handle("ocr", ({ urlParams }) =>
      Effect.flatMap(upload.one(Media.image), (image) => pool.submit(Tasks.ocr(image), { timeout: urlParams.timeoutMs, bytes: image.byteLength })).pipe(
        Effect.withSpan("ocr")
      ))
  }))
