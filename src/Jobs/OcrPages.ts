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
import { assemble, maxPages, TooManyPages } from "../Layers/OcrDocument.js"
import { TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import * as Tasks from "../Pool/Tasks.js"
import { DocumentUnreadable, ImageTooLarge, ImageUndecodable, InferenceFailed, OcrPage as PageResult } from "../Workers/Protocol.js"
import { maxAttempts, PoisonJob } from "./Job.js"
import { JobPool } from "./JobPool.js"
import { JobTable } from "./JobTable.js"

/** The page's job was cancelled or has ended: there is nothing to read it for. */
export class JobGone extends Schema.TaggedError<JobGone>()("JobGone", { message: Schema.String, id: Schema.String }) {}

export const PageError = Schema.Union(ImageUndecodable, ImageTooLarge, DocumentUnreadable, InferenceFailed, TaskTimeout, WorkerCrashed, JobGone, PoisonJob)

export const OcrPage = Entity.make("OcrPage", [
  Rpc.make("Read", {
    payload: { job: Schema.String, page: Schema.Int },
    success: PageResult,
    error: PageError,
    primaryKey: ({ job, page }) => `${job}/${page}`
  }).annotate(ClusterSchema.Persisted, true)
])

/** The job's input and OCR options, or JobGone. */
const inputOf = (table: JobTable["Type"], job: string) =>
  Effect.flatMap(Effect.orDie(table.input(job)), (input) =>
    input._tag === "Some" && input.value.request.kind === "ocr"
      ? Effect.succeed({ bytes: input.value.bytes, options: input.value.request.options })
      : Effect.fail(new JobGone({ message: `job ${job} was cancelled or has ended`, id: job })))

/** Reads one page (from 1) of a job's document on this runner's pool. */
export const layer = OcrPage.toLayer(Effect.gen(function*() {
  const table = yield* JobTable
  const pool = yield* JobPool
  const limit = yield* Effect.orDie(maxAttempts)
  // A defect would be retried by the cluster forever: a page gets `limit` tries, then fails as PoisonJob.
  const bounded = <A, E>(page: number, read: Effect.Effect<A, E>) =>
    Effect.catchAllDefect(read, (defect) => Effect.fail(new PoisonJob({ message: `page ${page} failed ${limit} attempts, the last with: ${String(defect)}`, attempts: limit }))).pipe(
      Effect.retry({ times: limit - 1, while: (error) => error instanceof PoisonJob })
    )
  return OcrPage.of({
    Read: ({ payload: { job, page } }) =>
      Effect.gen(function*() {
        const { bytes, options } = yield* inputOf(table, job)
        const { timeoutMs, ...ocr } = options
        // Only the page's reading is kept: a job answers JSON, whose shape needs none of the other renderings.
        const reading = yield* bounded(page, pool.run(() => Tasks.ocr(bytes, page, { ...ocr, format: "json" }), { timeoutMs, bytes: bytes.byteLength }))
        return PageResult.make({ page: reading.page, source: reading.source, text: reading.text, confidence: reading.confidence, words: reading.words, width: reading.width, height: reading.height, durationMs: reading.durationMs })
      }).pipe(Effect.annotateLogs({ job, page }))
  })
}))

/**
 * Reads every page of job `id`'s document: counted first on this runner (more than INFERD_MAX_PAGES fails the
 * job as TooManyPages before any page is read), then every page goes out at once (each runner's JobPool bounds
 * how many run). All pages end before the job does, so a failed page never interrupts a sibling mid-task; the
 * job then fails with the first page's failure. The result is the synchronous route's shape.
 */
export const reader = Effect.gen(function*() {
  const client = yield* OcrPage.client
  const table = yield* JobTable
  const pool = yield* JobPool
  const most = yield* Effect.orDie(maxPages)
  return (id: string, progress: (done: number, total: number) => Effect.Effect<void>) =>
    Effect.gen(function*() {
      const { bytes, options } = yield* inputOf(table, id)
      const { pages } = yield* pool.run(() => Tasks.inspect(bytes), { timeoutMs: options.timeoutMs, bytes: bytes.byteLength })
      if (pages > most) {
        return yield* new TooManyPages({ message: `the document has ${pages} pages, more than INFERD_MAX_PAGES (${most})`, pages, maxPages: most })
      }
      const page = (n: number) =>
        client(`${id}/${n}`).Read({ job: id, page: n }).pipe(
          Effect.catchTags({ MailboxFull: Effect.die, AlreadyProcessingMessage: Effect.die, PersistenceError: Effect.die })
        )
      let done = 0
      const read = yield* Effect.forEach(
        Array.from({ length: pages }, (_, i) => i + 1),
        (n) => Effect.either(Effect.tap(page(n), () => progress(++done, pages))),
        { concurrency: "unbounded" }
      )
      const failure = read.find(Either.isLeft)
      if (failure !== undefined) return yield* Effect.fail(failure.left)
      return assemble(read.flatMap((r) => Either.isRight(r) ? [r.right] : []))
    })
})
