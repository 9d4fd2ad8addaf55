/**
 * JobTable: each job's record (kind, options, input, state, progress, runner, attempts, result) in the cluster's
 * own database, SQLite or PostgreSQL alike, so any runner answers for any job. The cluster's message storage
 * says what must run; this table says what it is and how it went. Every write is keyed by the job's id and
 * guarded by its state, so a message delivered twice (at-least-once) never marks a job done twice, and a
 * cancelled job is never brought back to life.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Effect, Layer, Option, Schedule, Schema } from "effect"
import { Cursor, type Job, type JobError, JobKind, type JobList, JobRequest, JobState } from "./Job.js"

export interface ListOptions {
  readonly state?: JobState | undefined
  readonly limit: number
  readonly cursor?: string | undefined
}

export interface JobTableService {
  readonly insert: (id: string, request: JobRequest, input: Uint8Array) => Effect.Effect<Job, SqlError>
  readonly get: (id: string) => Effect.Effect<Option.Option<Job>, SqlError>
  readonly list: (options: ListOptions) => Effect.Effect<JobList, SqlError>
  /** The job's request and input while it may still run; None once it ended or was cancelled. */
  readonly input: (id: string) => Effect.Effect<Option.Option<{ readonly request: JobRequest; readonly bytes: Uint8Array }>, SqlError>
  /** Starts an attempt on `runner`: answers the attempt's number, or None when the job is over (or unknown). */
  readonly claim: (id: string, runner: string) => Effect.Effect<Option.Option<number>, SqlError>
  readonly progress: (id: string, progress: number) => Effect.Effect<void, SqlError>
  /** Ends a running job; answers whether this call ended it (false: it had already ended or was cancelled). */
  readonly succeed: (id: string, result: unknown) => Effect.Effect<boolean, SqlError>
  readonly fail: (id: string, error: JobError) => Effect.Effect<boolean, SqlError>
  /** Cancels a queued or running job; answers whether it did. */
  readonly cancel: (id: string) => Effect.Effect<boolean, SqlError>
  /** Ids of jobs still queued that were created before `beforeMs`. */
  readonly queued: (beforeMs: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** Running jobs whose `Run` message the cluster has answered: nothing will run them again. */
  readonly stranded: Effect.Effect<ReadonlyArray<Job>, SqlError>
  /** Removes ended jobs last updated before `beforeMs`; answers how many. */
  readonly purge: (beforeMs: number) => Effect.Effect<number, SqlError>
  readonly counts: Effect.Effect<Readonly<Record<JobState, number>>, SqlError>
}

export class JobTable extends Context.Tag("inferd/JobTable")<JobTable, JobTableService>() {}

/** Milliseconds since the epoch are exact in a double, and both databases answer a double as a number. */
const migrations = Migrator.fromRecord({
  "0001_jobs": Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const [blob, real] = sql.onDialectOrElse({ pg: () => ["BYTEA", "DOUBLE PRECISION"], orElse: () => ["BLOB", "REAL"] })
    return Effect.all([
      sql.unsafe(`CREATE TABLE inferd_jobs (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, options TEXT NOT NULL, input ${blob}, state TEXT NOT NULL,
        progress ${real} NOT NULL DEFAULT 0, runner TEXT, attempts INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT,
        created_at ${real} NOT NULL, updated_at ${real} NOT NULL, started_at ${real})`),
      sql`CREATE INDEX inferd_jobs_by_time ON inferd_jobs (created_at, id)`,
      sql`CREATE INDEX inferd_jobs_by_state ON inferd_jobs (state, created_at, id)`
    ], { discard: true })
  })
})

const Row = Schema.Struct({
  id: Schema.String,
  kind: JobKind,
  options: Schema.String,
  state: JobState,
  progress: Schema.Number,
  runner: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  result: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
  created_at: Schema.Number,
  updated_at: Schema.Number,
  started_at: Schema.NullOr(Schema.Number)
})
const decodeRow = Schema.decodeUnknownSync(Row)

const toJob = (raw: unknown): Job => {
  const row = decodeRow(raw)
  return {
    id: row.id,
    kind: row.kind,
    options: JSON.parse(row.options) as Record<string, number | string>,
    state: row.state,
    progress: row.progress,
    runner: row.runner,
    attempts: row.attempts,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    ...(row.started_at === null ? {} : { startedAt: new Date(row.started_at).toISOString() }),
    ...(row.result === null ? {} : { result: JSON.parse(row.result) as unknown }),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as JobError })
  }
}

const encodeCursor = Schema.encodeSync(Cursor)
const decodeCursor = Schema.decodeUnknownOption(Cursor)

const decodeRequest = Schema.decodeUnknownSync(JobRequest)

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Several runners may start on an empty database at once: one of them migrates, the others retry.
  yield* Migrator.make({})({ loader: migrations, table: "inferd_migrations" }).pipe(
    Effect.retry({ times: 5, schedule: Schedule.spaced("200 millis") }),
    Effect.orDie
  )
  const columns = sql`id, kind, options, state, progress, runner, attempts, result, error, created_at, updated_at, started_at`
  const running = sql.literal("('queued', 'running')")
  const answered = sql.onDialectOrElse({ pg: () => sql.literal("TRUE"), orElse: () => sql.literal("1") })

  // The job's messages and replies in the cluster's storage (`SqlMessageStorage`'s tables): its `Run` and its
  // pages' `Read`s, which would otherwise be kept for ever.
  const messages = (id: string) =>
    sql`SELECT id FROM cluster_messages WHERE (entity_type = 'Job' AND entity_id = ${id}) OR (entity_type = 'OcrPage' AND entity_id LIKE ${`${id}/%`})`
  const forget = (id: string) =>
    Effect.zipRight(
      sql`DELETE FROM cluster_replies WHERE request_id IN (${messages(id)})`,
      sql`DELETE FROM cluster_messages WHERE id IN (${messages(id)})`
    )

  const get = (id: string) =>
    Effect.map(sql`SELECT ${columns} FROM inferd_jobs WHERE id = ${id}`, (rows) => Option.map(Option.fromNullable(rows[0]), toJob))

  const end = (id: string, state: "done" | "failed", result: string | null, error: string | null) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      sql`UPDATE inferd_jobs SET state = ${state}, progress = ${state === "done" ? 1 : sql.literal("progress")}, result = ${result},
        error = ${error}, input = NULL, updated_at = ${now} WHERE id = ${id} AND state = 'running' RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0)
      ))

  return JobTable.of({
    insert: (id, request, input) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`INSERT INTO inferd_jobs (id, kind, options, input, state, created_at, updated_at)
          VALUES (${id}, ${request.kind}, ${JSON.stringify(request.options)}, ${Buffer.from(input.buffer, input.byteOffset, input.byteLength)}, 'queued', ${now}, ${now})`.pipe(
          Effect.zipRight(Effect.map(get(id), Option.getOrThrow))
        )),
    get,
    list: ({ cursor, limit, state }) => {
      const after = Option.flatMap(Option.fromNullable(cursor), decodeCursor)
      const where = [
        ...(state === undefined ? [] : [sql`state = ${state}`]),
        ...Option.toArray(Option.map(after, ([at, id]) => sql`(created_at < ${at} OR (created_at = ${at} AND id < ${id}))`))
      ]
      return Effect.map(
        sql`SELECT ${columns} FROM inferd_jobs WHERE ${sql.and(where)} ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`,
        (rows) => {
          const jobs = rows.slice(0, limit).map(toJob)
          const last = jobs[jobs.length - 1]
          return { jobs, next: rows.length > limit && last !== undefined ? encodeCursor([Date.parse(last.createdAt), last.id]) : null }
        }
      )
    },
    input: (id) =>
      Effect.map(sql<{ kind: string; options: string; input: Uint8Array }>`SELECT kind, options, input FROM inferd_jobs WHERE id = ${id} AND state IN ${running} AND input IS NOT NULL`, (rows) =>
        Option.map(Option.fromNullable(rows[0]), (row) => ({
          request: decodeRequest({ kind: row.kind, options: JSON.parse(row.options) as unknown }),
          bytes: new Uint8Array(row.input)
        }))),
    claim: (id, runner) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(
          sql<{ attempts: number }>`UPDATE inferd_jobs SET state = 'running', attempts = attempts + 1, runner = ${runner}, started_at = ${now},
            updated_at = ${now} WHERE id = ${id} AND state IN ${running} RETURNING attempts`,
          (rows) => Option.map(Option.fromNullable(rows[0]), (row) => Number(row.attempts))
        )),
    progress: (id, progress) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`UPDATE inferd_jobs SET progress = ${progress}, updated_at = ${now} WHERE id = ${id} AND state = 'running'`.pipe(Effect.asVoid)),
    succeed: (id, result) => end(id, "done", JSON.stringify(result), null),
    fail: (id, error) => end(id, "failed", null, JSON.stringify(error)),
    cancel: (id) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(
          sql`UPDATE inferd_jobs SET state = 'cancelled', input = NULL, updated_at = ${now} WHERE id = ${id} AND state IN ${running} RETURNING id`,
          (rows) => rows.length > 0
        )),
    queued: (beforeMs) =>
      Effect.map(sql<{ id: string }>`SELECT id FROM inferd_jobs WHERE state = 'queued' AND created_at < ${beforeMs} ORDER BY created_at`, (rows) =>
        rows.map((row) => row.id)),
    // A `Run` is stored as `Job/<id>/Run/<id>` (Envelope.primaryKeyByAddress) and marked processed with its reply.
    stranded: Effect.map(
      sql`SELECT ${columns} FROM inferd_jobs j WHERE state = 'running' AND EXISTS (SELECT 1 FROM cluster_messages m
        WHERE m.message_id = 'Job/' || j.id || '/Run/' || j.id AND m.processed = ${answered})`,
      (rows) => rows.map(toJob)
    ),
    purge: (beforeMs) =>
      Effect.gen(function*() {
        const gone = yield* sql<{ id: string }>`DELETE FROM inferd_jobs WHERE state IN ('done', 'failed', 'cancelled') AND updated_at < ${beforeMs} RETURNING id`
        yield* Effect.forEach(gone, ({ id }) => forget(id), { discard: true })
        return gone.length
      }).pipe(sql.withTransaction),
    counts: Effect.map(sql<{ state: JobState; n: number }>`SELECT state, count(*) AS n FROM inferd_jobs GROUP BY state`, (rows) => {
      const counts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 }
      for (const row of rows) counts[row.state] = Number(row.n)
      return counts
    })
  })
})

export const layer = Layer.effect(JobTable, make)
