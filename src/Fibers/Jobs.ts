/**
 * Jobs: long work that does not hold an HTTP request open. A job is stored (JobStore) before it is
 * acknowledged, run on the pool's background lane by a few runner fibers, and its progress published for
 * Server-Sent Events. Multi-page documents are read a page per task, fanned out across the pool. Jobs left
 * unfinished by a crash are resumed at start; finished ones are kept for `INFERD_JOB_TTL`.
 */
import { Config, Context, Duration, Effect, Layer, Option, PubSub, Queue, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { type Job, type JobKind, JobStore } from "../Layers/JobStore.js"
import * as Tasks from "../Pool/Tasks.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import { FACE_DEFAULTS, type OcrResult } from "../Workers/Protocol.js"
import * as Loop from "./Loop.js"
import { Loops } from "./Loops.js"

export interface JobsService {
  readonly submit: (kind: JobKind, input: Uint8Array, contentType: string) => Effect.Effect<Job>
  readonly get: (id: string) => Effect.Effect<Option.Option<Job>>
  /** The job as it changes, from now until it is done or failed. */
  readonly changes: (id: string) => Stream.Stream<Job>
}

export class Jobs extends Context.Tag("inferd/Jobs")<Jobs, JobsService>() {}

const typed = (error: unknown) =>
  typeof error === "object" && error !== null && "_tag" in error && "message" in error
    ? { _tag: String(error._tag), message: String(error.message) }
    : { _tag: "InternalError", message: String(error) }

/** Errors that mean "not now" rather than "never": the job stays queued for a later try. */
const retryable = (error: unknown) => typed(error)._tag === "Overloaded"

export const make = Effect.gen(function*() {
  const store = yield* JobStore
  const pool = yield* WorkerPool
  const updates = yield* PubSub.unbounded<Job>()
  const queue = yield* Queue.unbounded<string>()

  const update = (id: string, patch: Parameters<typeof store.update>[1]) =>
    Effect.flatMap(store.update(id, patch), Option.match({ onNone: () => Effect.void, onSome: (job) => PubSub.publish(updates, job) }))

  const ocrPages = (id: string, bytes: Uint8Array) =>
    Effect.gen(function*() {
      const first = yield* pool.submit(Tasks.ocr(bytes.slice(), 0), { priority: "background" })
      yield* update(id, { progress: 1 / first.pages })
      let done = 1
      const rest = yield* Effect.forEach(Array.from({ length: first.pages - 1 }, (_, i) => i + 1), (page) =>
        pool.submit(Tasks.ocr(bytes.slice(), page), { priority: "background" }).pipe(
          Effect.tap(() => update(id, { progress: ++done / first.pages }))
        ), { concurrency: "unbounded" })
      const pages: ReadonlyArray<OcrResult> = [first, ...rest]
      return first.pages === 1 ? first : { pages: pages.length, text: pages.map((p) => p.text).join("\f"), results: pages }
    })

  const work = (id: string, kind: JobKind, bytes: Uint8Array): Effect.Effect<unknown, unknown> => {
    switch (kind) {
      case "ocr":
        return ocrPages(id, bytes)
      case "faces.detect":
        return pool.submit(Tasks.detectFaces(bytes, { ...FACE_DEFAULTS, embed: false }), { priority: "background" })
      case "audio.analyze":
        return pool.submit(Tasks.analyzeAudio(bytes, { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 }), { priority: "background" })
    }
  }

  const run = (id: string) =>
    Effect.gen(function*() {
      const job = yield* store.get(id)
      const input = yield* store.input(id)
      if (Option.isNone(job) || Option.isNone(input) || job.value.state !== "queued") return
      yield* update(id, { state: "running", progress: 0 })
      const outcome = yield* Effect.either(work(id, job.value.kind, input.value.bytes))
      if (outcome._tag === "Right") return yield* update(id, { state: "done", progress: 1, result: outcome.right })
      if (typed(outcome.left)._tag === "ShuttingDown") return // stays running: queued again at the next start
      if (retryable(outcome.left)) {
        yield* update(id, { state: "queued" })
        return yield* Effect.zipRight(Effect.sleep("1 second"), Queue.offer(queue, id))
      }
      yield* update(id, { state: "failed", error: typed(outcome.left) })
    }).pipe(Effect.annotateLogs({ job: id }), Effect.catchAllCause((cause) => Effect.logError("job runner failed", cause)))

  const size = (yield* pool.stats).size
  yield* Effect.forEach(Array.from({ length: size * 2 }), () => Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(queue), run))))
  const resumed = yield* store.unfinished
  yield* Queue.offerAll(queue, resumed)
  if (resumed.length > 0) yield* Effect.logInfo(`jobs: resuming ${resumed.length} unfinished`)

  return Jobs.of({
    submit: (kind, input, contentType) =>
      Effect.gen(function*() {
        const job = yield* store.create(randomUUID(), kind, input, contentType)
        yield* Queue.offer(queue, job.id)
        return job
      }),
    get: store.get,
    changes: (id) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        // Subscribe before reading the current state, so no change falls between the two.
        const subscription = yield* PubSub.subscribe(updates)
        const current = yield* store.get(id)
        return Stream.concat(Stream.fromIterable(Option.toArray(current)), Stream.fromQueue(subscription).pipe(Stream.filter((job) => job.id === id)))
      })).pipe(Stream.takeUntil((job) => job.state === "done" || job.state === "failed"))
  })
})

/** `INFERD_JOB_TTL`: how long finished jobs are kept (default 24 hours); a loop purges older ones hourly. */
export const ttl = Config.duration("INFERD_JOB_TTL").pipe(Config.withDefault(Duration.hours(24)))

export const layer = Layer.scoped(Jobs, Effect.gen(function*() {
  const jobs = yield* make
  const store = yield* JobStore
  const keep = yield* ttl
  const loops = yield* Loops
  const purge = Effect.gen(function*() {
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const removed = yield* store.purge(now - Duration.toMillis(keep))
    if (removed > 0) yield* Effect.logInfo(`jobs: purged ${removed} finished jobs older than ${Duration.format(keep)}`)
  })
  yield* loops.register(yield* Loop.make({ name: "jobs-ttl", interval: "1 hour", body: purge }))
  return jobs
}))

