/**
 * POST /v1/audio/analyze: the upload goes to a worker as transferred bytes; the main thread never decodes it.
 */
import type { HttpApiBuilder } from "@effect/platform"
import type { ApiError } from "./Api.js"
import { Effect } from "effect"
import { Jobs } from "../Jobs/Jobs.js"
import * as Tasks from "../Pool/Tasks.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import type { AudioApi } from "./AudioApi.js"
import { accepted } from "./Accepted.js"
import * as Media from "./Media.js"
import { Upload } from "./Upload.js"

/**
 * The group's handlers, for `HttpApiBuilder.group(api, "audio", build)` on any API that holds `AudioApi`
 * (the daemon's `Api`, or a test's): typed against the group alone, so it does not depend on which.
 */
export const build = (handlers: HttpApiBuilder.Handlers.FromGroup<ApiError, never, typeof AudioApi>) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const upload = yield* Upload
    const jobs = yield* Jobs
    return handlers.handle("analyze", ({ urlParams: { async, timeoutMs, ...vad } }) =>
      Effect.gen(function*() {
        const audio = yield* upload.one(Media.audio)
        if (async === true) {
          const job = yield* jobs.submit({ kind: "audio.analyze", options: { ...vad, timeoutMs } }, audio)
          return accepted(job.id, job.state)
        }
        return yield* pool.submit(Tasks.analyzeAudio(audio, vad), { timeout: timeoutMs, bytes: audio.byteLength })
      }).pipe(Effect.withSpan("audio.analyze")))
  })
