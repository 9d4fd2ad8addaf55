/**
 * Jobs: long work that does not hold an HTTP request open, on the cluster engine (Cluster.ts). A job is a
 * JobTable record and a persisted `Run` message to its entity (JobEntity.ts); the answer to a submission
 * comes once both are stored. Any runner answers for any job: state, changes, list, cancel. Finished jobs are
 * kept for `INFERD_JOB_TTL`.
 */
import { RunnerStorage } from "@effect/cluster/RunnerStorage"
import { Sharding } from "@effect/cluster/Sharding"
import * as ShardId from "@effect/cluster/ShardId"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Config, Context, Duration, Effect, Equal, Layer, Option, Schedule, Schema, Stream } from "effect"
import { randomUUID } from "node:crypto"
import * as Loop from "../Fibers/Loop.js"
import { Loops } from "../Fibers/Loops.js"
import * as Cluster from "./Cluster.js"
import { finished, type Job, JobFinished, type JobList, JobNotFound, type JobRequest, JobsUnavailable, type JobState } from "./Job.js"
import * as JobEntity from "./JobEntity.js"
import * as JobPool from "./JobPool.js"
import { JobTable, type ListOptions } from "./JobTable.js"
import * as OcrPages from "./OcrPages.js"

export const ClusterStatus = Schema.Struct({
  mode: Schema.Literal("embedded", "postgres"),
  runner: Schema.String,
  runners: Schema.Array(Schema.Struct({ address: Schema.String, healthy: Schema.Boolean })),
  /** Shards this runner holds now, of `INFERD_SHARDS`. */
  shards: Schema.Number
})
export type ClusterStatus = typeof ClusterStatus.Type

export interface JobsService {
  readonly submit: (request: JobRequest, input: Uint8Array) => Effect.Effect<Job, JobsUnavailable>
  readonly get: (id: string) => Effect.Effect<Job, JobNotFound | JobsUnavailable>
  readonly list: (options: ListOptions) => Effect.Effect<JobList, JobsUnavailable>
  /** A queued job never runs; a running one stops. */
  readonly cancel: (id: string) => Effect.Effect<Job, JobNotFound | JobFinished | JobsUnavailable>
  /** The job as it changes, from now until it ends. */
  readonly changes: (id: string) => Stream.Stream<Job, JobsUnavailable>
  readonly cluster: Effect.Effect<ClusterStatus>
  /** Why this runner should not take traffic now: not registered, or its database unreachable. */
  readonly unready: Effect.Effect<ReadonlyArray<string>>
  readonly counts: Effect.Effect<Readonly<Record<JobState, number>>, JobsUnavailable>
}

export class Jobs extends Context.Tag("inferd/Jobs")<Jobs, JobsService>() {}

const unavailable = (cause: { readonly message: string }) =>
  new JobsUnavailable({ message: `the jobs database is unreachable: ${cause.message}` })

export const make = Effect.gen(function*() {
  const table = yield* JobTable
  const sql = yield* SqlClient.SqlClient
  const info = yield* Cluster.ClusterInfo
  const sharding = yield* Sharding
  const runners = yield* RunnerStorage
  const client = yield* JobEntity.JobEntity.client

  const get = (id: string) =>
    Effect.flatMap(Effect.mapError(table.get(id), unavailable), Option.match({
      onNone: () => Effect.fail(new JobNotFound({ message: `no job ${id} (unknown, or expired after INFERD_JOB_TTL)`, id })),
      onSome: Effect.succeed
    }))

  const submit = (request: JobRequest, input: Uint8Array) =>
    Effect.gen(function*() {
      const job = yield* table.insert(randomUUID(), request, input)
      yield* client(job.id).Run({ id: job.id }, { discard: true })
      return job
    }).pipe(Effect.mapError(unavailable))

  const cancel = (id: string): Effect.Effect<Job, JobNotFound | JobFinished | JobsUnavailable> =>
    Effect.gen(function*() {
      const job = yield* get(id)
      if (finished(job.state)) return yield* new JobFinished({ message: `job ${id} is already ${job.state}`, id, state: job.state })
      if (!(yield* Effect.mapError(table.cancel(id), unavailable))) return yield* cancel(id)
      // The runner holding it stops it now; if none is reachable, whoever runs it next finds it cancelled.
      yield* client(id).Cancel().pipe(Effect.timeout("5 seconds"), Effect.ignore)
      return yield* get(id)
    })

  const cluster = Effect.gen(function*() {
    const all = yield* runners.getRunners.pipe(Effect.orElseSucceed(() => []))
    let shards = 0
    for (let i = 1; i <= info.shardsPerGroup; i++) if (sharding.hasShardId(ShardId.make("default", i))) shards++
    return {
      mode: info.mode,
      runner: info.runner,
      runners: all.map(([runner, healthy]) => ({ address: `${runner.address.host}:${runner.address.port}`, healthy })),
      shards
    }
  })

  const unready = Effect.gen(function*() {
    const reachable = yield* sql`SELECT 1`.pipe(Effect.timeout("2 seconds"), Effect.either)
    if (reachable._tag === "Left") return [`the jobs database is unreachable: ${reachable.left.message}`]
    const all = yield* runners.getRunners.pipe(Effect.orElseSucceed(() => []))
    return all.some(([runner, healthy]) => healthy && Equal.equals(runner.address, info.address))
      ? []
      : [`runner ${info.runner} has not registered with the cluster yet`]
  })

  return Jobs.of({
    submit,
    get,
    list: (options) => Effect.mapError(table.list(options), unavailable),
    cancel,
    // Polled, since the job may run on another runner; a change shows within a poll.
    changes: (id) =>
      Stream.repeatEffectWithSchedule(Effect.mapError(table.get(id), unavailable), Schedule.spaced("200 millis")).pipe(
        Stream.filterMap((job) => job),
        Stream.changesWith((a, b) => a.updatedAt === b.updatedAt && a.state === b.state),
        Stream.takeUntil((job) => finished(job.state))
      ),
    cluster,
    unready,
    counts: Effect.mapError(table.counts, unavailable)
  })
})

/** `INFERD_JOB_TTL`: how long finished jobs are kept (default 24 hours); a loop purges older ones hourly. */
export const ttl = Config.duration("INFERD_JOB_TTL").pipe(Config.withDefault(Duration.hours(24)))

/**
 * Jobs stored without their message (the process died between the two writes, before its 202) are sent
 * again at start; a job that has its message is not run twice, since the id is the message's primary key.
 */
const resend = Effect.gen(function*() {
  const table = yield* JobTable
  const client = yield* JobEntity.JobEntity.client
  const now = yield* Clock.currentTimeMillis
  const queued = yield* table.queued(now)
  yield* Effect.forEach(queued, (id) => client(id).Run({ id }, { discard: true }), { concurrency: 16, discard: true })
  if (queued.length > 0) yield* Effect.logInfo(`jobs: ${queued.length} queued jobs sent again`)
})

export const layer = Layer.scoped(Jobs, Effect.gen(function*() {
  const jobs = yield* make
  const table = yield* JobTable
  const keep = yield* ttl
  const loops = yield* Loops
  const purge = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const removed = yield* table.purge(now - Duration.toMillis(keep))
    if (removed > 0) yield* Effect.logInfo(`jobs: purged ${removed} finished jobs older than ${Duration.format(keep)}`)
  })
  yield* loops.register(yield* Loop.make({ name: "jobs-ttl", interval: "1 hour", body: purge }))
  yield* Effect.forkScoped(Effect.catchAllCause(resend, (cause) => Effect.logWarning("jobs: could not send queued jobs again", cause)))
  return jobs
}))

/** The jobs with their engine: the cluster, both entities and the pool as jobs use it. Needs WorkerPool and Loops. */
export const JobsLive = layer.pipe(
  Layer.provide(Layer.mergeAll(JobEntity.layer, OcrPages.layer).pipe(Layer.provide(JobPool.layer))),
  Layer.provide(Cluster.layer)
)
