/**
 * A job is an entity keyed by its id. `Run` is a persisted message whose primary key is the id, so the answer
 * to `POST /v1/jobs` comes once it is stored, a re-send never runs the job twice, and a runner that dies leaves
 * it to the runner that takes its shard. Delivery is at-least-once, so a run first claims the job in JobTable
 * (counting the attempt) and every write after is guarded by the job's state. `Cancel` stops a running job on
 * whichever runner holds it.
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import { Cause, Deferred, Effect, Exit, Option, Schema } from "effect"
import * as Tasks from "../Pool/Tasks.js"
import { ClusterInfo } from "./Cluster.js"
import { type JobError, type JobRequest, maxAttempts, PoisonJob } from "./Job.js"
import { JobPool } from "./JobPool.js"
import { JobTable } from "./JobTable.js"
import * as OcrPages from "./OcrPages.js"

export const JobEntity = Entity.make("Job", [
  Rpc.make("Run", { payload: { id: Schema.String }, primaryKey: ({ id }) => id }).annotate(ClusterSchema.Persisted, true),
  Rpc.make("Cancel")
])


/** The error as the API shows it: its tag, message and details (an error's message is not enumerable). */
const typed = (error: unknown): JobError =>
  typeof error === "object" && error !== null && "_tag" in error && "message" in error
    ? { ...error, _tag: String(error._tag), message: String(error.message) }
    : { _tag: "InferenceFailed", message: String(error) }

/** What the job's kind computes, with its stored options: the synchronous route's answer. */
const work = (
  pool: typeof JobPool.Service,
  read: Effect.Effect.Success<typeof OcrPages.reader>,
  { bytes, request }: { readonly request: JobRequest; readonly bytes: Uint8Array },
  id: string,
  progress: (done: number, total: number) => Effect.Effect<void>
): Effect.Effect<unknown, unknown> => {
  const size = { timeoutMs: request.options.timeoutMs, bytes: bytes.byteLength }
  switch (request.kind) {
    case "ocr":
      return read(id, progress)
    case "faces.detect":
    case "faces.embed": {
      const embed = request.kind === "faces.embed"
      const { minScore, model } = request.options
      return Effect.map(pool.run(() => Tasks.detectFaces(bytes.slice(), { model, minScore, embed }), size), (result) => ({
        ...result,
        faces: result.faces.map(({ embedding, ...face }) => embed ? { ...face, embedding: embedding ?? [] } : face)
      }))
    }
    case "audio.analyze": {
      const { timeoutMs: _, ...vad } = request.options
      return pool.run(() => Tasks.analyzeAudio(bytes.slice(), vad), size)
    }
  }
}

export const layer = JobEntity.toLayer(Effect.gen(function*() {
  const table = yield* JobTable
  const pool = yield* JobPool
  const { runner } = yield* ClusterInfo
  const limit = yield* Effect.orDie(maxAttempts)
  const read = yield* OcrPages.reader
  // One line per job that ends, from the runner that ended it: a job ends once, wherever it ran.
  const ended = <E>(write: Effect.Effect<boolean, E>, state: string, attempts: number) =>
    Effect.flatMap(write, (changed) => changed ? Effect.logInfo(`job ${state}`).pipe(Effect.annotateLogs({ attempts, runner })) : Effect.void)
  const poison = (message: string) => typed(new PoisonJob({ message, attempts: limit }))
  // Built once per entity, that is per job: the job's own cancel signal.
  const cancelled = yield* Deferred.make<void>()

  const attempt = (id: string): Effect.Effect<void> =>
    Effect.gen(function*() {
      const claimed = yield* table.claim(id, runner)
      if (Option.isNone(claimed)) return // over, cancelled or unknown: a duplicate delivery has nothing to do
      if (claimed.value > limit) {
        return yield* table.fail(id, poison(`started ${limit} times without finishing: its runner stopped or failed under it each time`))
      }
      const input = yield* table.input(id)
      if (Option.isNone(input)) return
      const progress = (done: number, total: number) => Effect.orDie(table.progress(id, done / total))
      const exit = yield* Effect.exit(work(pool, read, input.value, id, progress))
      if (Exit.isSuccess(exit)) return yield* ended(table.succeed(id, exit.value), "done", claimed.value)
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) return yield* ended(table.fail(id, typed(failure.value)), "failed", claimed.value)
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
      // A defect in our own code: the attempt counts, and the next claim decides whether to try again.
      yield* Effect.logError("job attempt failed with a defect", exit.cause)
      if (claimed.value >= limit) return yield* table.fail(id, poison(`failed ${limit} attempts, the last with: ${Cause.pretty(exit.cause).split("\n")[0]}`))
      return yield* attempt(id)
    }).pipe(Effect.orDie) // the database failing: the cluster retries the message with backoff

  // A job found running when its message arrives was started by a runner that stopped under it: it was
  // admitted there already, so it starts again here at once instead of queueing behind this runner's jobs.
  const takenOver = (id: string) =>
    Effect.flatMap(Effect.orDie(table.get(id)), (job) =>
      Option.isSome(job) && job.value.state === "running"
        ? Effect.as(Effect.logInfo("job taken over").pipe(Effect.annotateLogs({ from: job.value.runner ?? "", runner })), true)
        : Effect.succeed(false))

  return JobEntity.of({
    Run: ({ payload: { id } }) =>
      Effect.flatMap(takenOver(id), (resumed) =>
        Effect.raceFirst(resumed ? attempt(id) : pool.admit(attempt(id)), Deferred.await(cancelled))).pipe(Effect.annotateLogs({ job: id })),
    Cancel: () => Deferred.succeed(cancelled, undefined)
  })
}), { concurrency: "unbounded" })
