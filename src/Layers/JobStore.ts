/**
 * JobStore: async jobs and their inputs and results in SQLite (better-sqlite3) under `INFERD_DATA_DIR`, so a job
 * accepted before a crash is still there after it. WAL with synchronous FULL: a job is on disk before its 202.
 * Calls are synchronous and short (one row), so they run inline rather than on a thread.
 */
import Database from "better-sqlite3"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import * as SharedConfig from "./SharedConfig.js"

export const JobKind = Schema.Literal("ocr", "faces.detect", "audio.analyze")
export type JobKind = typeof JobKind.Type

export const JobState = Schema.Literal("queued", "running", "done", "failed")
export type JobState = typeof JobState.Type

export const JobError = Schema.Struct({ _tag: Schema.String, message: Schema.String })

/** What `GET /v1/jobs/{id}` answers. */
export const Job = Schema.Struct({
  id: Schema.String,
  kind: JobKind,
  state: JobState,
  /** 0..1; multi-page documents advance a page at a time. */
  progress: Schema.Number,
  createdAt: Schema.String,
  updatedAt: Schema.String,
  result: Schema.optional(Schema.Unknown),
  error: Schema.optional(JobError)
})
export type Job = typeof Job.Type

export interface JobPatch {
  readonly state?: JobState
  readonly progress?: number
  readonly result?: unknown
  readonly error?: typeof JobError.Type
}

export interface JobStoreService {
  readonly create: (id: string, kind: JobKind, input: Uint8Array, contentType: string) => Effect.Effect<Job>
  readonly get: (id: string) => Effect.Effect<Option.Option<Job>>
  readonly input: (id: string) => Effect.Effect<Option.Option<{ readonly bytes: Uint8Array; readonly contentType: string }>>
  readonly update: (id: string, patch: JobPatch) => Effect.Effect<Option.Option<Job>>
  /** Jobs a previous run accepted but did not finish (running ones go back to queued). */
  readonly unfinished: Effect.Effect<ReadonlyArray<string>>
  /** Removes finished jobs last updated before `beforeMs`; answers how many. */
  readonly purge: (beforeMs: number) => Effect.Effect<number>
}

export class JobStore extends Context.Tag("inferd/JobStore")<JobStore, JobStoreService>() {}

interface Row {
  id: string
  kind: JobKind
  state: JobState
  progress: number
  created_at: number
  updated_at: number
  result: string | null
  error: string | null
}

const toJob = (row: Row): Job => ({
  id: row.id,
  kind: row.kind,
  state: row.state,
  progress: row.progress,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
  ...(row.result === null ? {} : { result: JSON.parse(row.result) as unknown }),
  ...(row.error === null ? {} : { error: JSON.parse(row.error) as typeof JobError.Type })
})

const open = (file: string) => {
  mkdirSync(path.dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = FULL")
  db.exec(`CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL, input BLOB, result TEXT, error TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`)
  return db
}

export const make = (file: string) =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(Effect.sync(() => open(file)), (db) => Effect.sync(() => db.close()))
    const select = db.prepare<[string], Row>("SELECT id, kind, state, progress, created_at, updated_at, result, error FROM jobs WHERE id = ?")
    const now = Effect.clockWith((clock) => clock.currentTimeMillis)
    const get = (id: string) => Effect.sync(() => Option.map(Option.fromNullable(select.get(id)), toJob))

    return JobStore.of({
      create: (id, kind, input, contentType) =>
        Effect.flatMap(now, (at) =>
          Effect.sync(() => {
            db.prepare("INSERT INTO jobs (id, kind, state, progress, content_type, input, created_at, updated_at) VALUES (?, ?, 'queued', 0, ?, ?, ?, ?)")
              .run(id, kind, contentType, Buffer.from(input.buffer, input.byteOffset, input.byteLength), at, at)
            return toJob(select.get(id)!)
          })),
      get,
      input: (id) =>
        Effect.sync(() =>
          Option.map(
            Option.fromNullable(db.prepare<[string], { input: Buffer; content_type: string }>("SELECT input, content_type FROM jobs WHERE id = ?").get(id)),
            (row) => ({ bytes: new Uint8Array(row.input), contentType: row.content_type })
          )),
      update: (id, patch) =>
        Effect.flatMap(now, (at) =>
          Effect.zipRight(
            Effect.sync(() => {
              const finished = patch.state === "done" || patch.state === "failed"
              db.prepare(`UPDATE jobs SET state = coalesce(?, state), progress = coalesce(?, progress), result = coalesce(?, result),
                error = coalesce(?, error), updated_at = ?${finished ? ", input = NULL" : ""} WHERE id = ?`)
                .run(patch.state ?? null, patch.progress ?? null, patch.result === undefined ? null : JSON.stringify(patch.result),
                  patch.error === undefined ? null : JSON.stringify(patch.error), at, id)
            }),
            get(id)
          )),
      unfinished: Effect.sync(() => {
        db.prepare("UPDATE jobs SET state = 'queued' WHERE state = 'running'").run()
        return db.prepare<[], { id: string }>("SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at").all().map((r) => r.id)
      }),
      purge: (beforeMs) => Effect.sync(() => db.prepare("DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_at < ?").run(beforeMs).changes)
    })
  })

/** `INFERD_DATA_DIR` (default `./var`): the store is `<dir>/jobs.db`. */
export const layer = Layer.scoped(
  JobStore,
  Effect.flatMap(SharedConfig.dataDir, (dir) => make(path.resolve(dir, "jobs.db")))
)
