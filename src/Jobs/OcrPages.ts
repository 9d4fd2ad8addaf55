/**
 * A multi-page document as page entities: each page of an OCR job is a persisted message to the entity
 * `<job>/<page>` (its primary key too), so the pages of one document spread over the cluster's runners, a page
 * already read is never read again after a crash (sending it again answers the stored result), and a page that
 * meets Overloaded waits and retries alone (JobPool) while the others go on. Here too: how page results make
 * the job's result, the shape of the synchronous multi-page answer.
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import { Effect, Either, Schema } from "effect"
import { TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import * as Tasks from "../Pool/Tasks.js"
import { ImageTooLarge, ImageUndecodable, InferenceFailed, OcrResult } from "../Workers/Protocol.js"
import { maxAttempts, PoisonJob } from "./Job.js"
import { JobPool } from "./JobPool.js"
import { JobTable } from "./JobTable.js"

/** The page's job was cancelled or has ended: there is nothing to read it for. */
export class JobGone extends Schema.TaggedError<JobGone>()("JobGone", { message: Schema.String, id: Schema.String }) {}

export const PageError = Schema.Union(ImageUndecodable, ImageTooLarge, InferenceFailed, TaskTimeout, WorkerCrashed, JobGone, PoisonJob)

export const OcrPage = Entity.make("OcrPage", [
  Rpc.make("Read", {
    payload: { job: Schema.String, page: Schema.Int },
    success: OcrResult,
    error: PageError,
    primaryKey: ({ job, page }) => `${job}/${page}`
  }).annotate(ClusterSchema.Persisted, true)
])

/** Reads one page of a job's document on this runner's pool. */
export const layer = OcrPage.toLayer(Effect.gen(function*() {
  const table = yield* JobTable
  const pool = yield* JobPool
  const limit = yield* Effect.orDie(maxAttempts)
  // A defect would be retried by the cluster forever: a page gets `limit` tries, then fails as PoisonJob.
  const bounded = <A, E>(page: number, read: Effect.Effect<A, E>) =>
    Effect.catchAllDefect(read, (defect) => Effect.fail(new PoisonJob({ message: `page ${page + 1} failed ${limit} attempts, the last with: ${String(defect)}`, attempts: limit }))).pipe(
      Effect.retry({ times: limit - 1, while: (error) => error instanceof PoisonJob })
    )
  return OcrPage.of({
    Read: ({ payload: { job, page } }) =>
      Effect.gen(function*() {
        const input = yield* Effect.orDie(table.input(job))
        if (input._tag === "None" || input.value.request.kind !== "ocr") {
          return yield* new JobGone({ message: `job ${job} was cancelled or has ended`, id: job })
        }
        const { bytes, request } = input.value
        return yield* bounded(page, pool.run(() => Tasks.ocr(bytes.slice(), page), { timeoutMs: request.options.timeoutMs, bytes: bytes.byteLength }))
      }).pipe(Effect.annotateLogs({ job, page }))
  })
}))

export interface OcrPageResult {
  readonly page: number
  readonly text: string
  readonly confidence: number
  readonly words: OcrResult["words"]
  readonly width: number
  readonly height: number
}

/** The synchronous answer's fields over the whole document, page texts joined by a form feed, plus each page (1-based). */
export const assemble = (pages: ReadonlyArray<OcrResult>) => ({
  text: pages.map((p) => p.text).join("\f"),
  confidence: pages.reduce((sum, p) => sum + p.confidence, 0) / Math.max(1, pages.length),
  words: pages.flatMap((p) => p.words),
  width: pages[0]?.width ?? 0,
  height: pages[0]?.height ?? 0,
  durationMs: pages.reduce((sum, p) => sum + p.durationMs, 0),
  pages: pages.map((p, i): OcrPageResult => ({ page: i + 1, text: p.text, confidence: p.confidence, words: p.words, width: p.width, height: p.height }))
})

/**
 * Reads every page of job `id`'s document: the first tells how many there are, the rest go out at once (each
 * runner's JobPool bounds how many run). All pages end before the job does, so a failed page never interrupts
 * a sibling mid-task; the job then fails with the first page's failure.
 */
export const reader = Effect.map(OcrPage.client, (client) => (id: string, progress: (done: number, total: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const page = (n: number) =>
      client(`${id}/${n}`).Read({ job: id, page: n }).pipe(
        Effect.catchTags({ MailboxFull: Effect.die, AlreadyProcessingMessage: Effect.die, PersistenceError: Effect.die })
      )
    const first = yield* page(0)
    let done = 1
    yield* progress(done, first.pages)
    const rest = yield* Effect.forEach(
      Array.from({ length: first.pages - 1 }, (_, i) => i + 1),
      (n) => Effect.either(Effect.tap(page(n), () => progress(++done, first.pages))),
      { concurrency: "unbounded" }
    )
    const failure = rest.find(Either.isLeft)
    if (failure !== undefined) return yield* Effect.fail(failure.left)
    return assemble([first, ...rest.flatMap((r) => Either.isRight(r) ? [r.right] : [])])
  }))
