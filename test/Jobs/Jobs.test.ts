/**
 * The jobs engine (embedded, SQLite) over a worker pool double, for what a real pool does not do on demand:
 * a handler that dies (a poison job ends typed after a bounded number of attempts, for a whole job and for a
 * page of one), a page answered interrupted, a page that never ends until its job is cancelled, and a pool
 * that refuses with Overloaded (the task waits and is tried again, alone). Also what the engine does at start
 * and in its loops: jobs stored without their message are sent, ended jobs purged, stranded ones failed.
 */
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { ConfigProvider, Deferred, Effect, Layer, Option, Schedule } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Loops from "../../src/Fibers/Loops.js"
import { Jobs, JobsLive } from "../../src/Jobs/Jobs.js"
import * as JobTable from "../../src/Jobs/JobTable.js"
import type { Task } from "../../src/Pool/Tasks.js"
import { Overloaded } from "../../src/Pool/PoolErrors.js"
import { type PoolStats, WorkerPool } from "../../src/Pool/WorkerPool.js"

const stats: PoolStats = { size: 1, ready: 1, busy: 0, running: 0, queued: 0, restarts: 0, threads: 1, lastStartError: null }

/**
 * A pool whose every submission runs `answer` with the count of submissions so far. A document is counted as
 * one page, without counting the submission: the tests count the work done on pages.
 */
const poolDouble = (answer: (n: number) => Effect.Effect<unknown, unknown>) => {
  let submitted = 0
  const layer = Layer.succeed(WorkerPool, WorkerPool.of({
    // The double answers for any task: its result type is the task's, which this test states by what it checks.
    submit: <A, E>(task: Task<A, E>) =>
      Effect.suspend(() => task.kind === "ocr.inspect" ? Effect.succeed({ pages: 1 }) : answer(++submitted)) as Effect.Effect<A, E>,
    stats: Effect.succeed(stats),
    drain: Effect.void
  }))
  return { layer, submitted: () => submitted }
}

const engine = (pool: Layer.Layer<WorkerPool>, config: Record<string, string> = {}) =>
  JobsLive.pipe(
    Layer.provideMerge(Loops.layer),
    Layer.provide(pool),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({ INFERD_DATA_DIR: mkdtempSync(join(tmpdir(), "inferd-jobs-unit-")), ...config })))
  )

const ended = (id: string) =>
  Effect.flatMap(Jobs, (jobs) => jobs.get(id)).pipe(
    Effect.filterOrFail((job) => ["done", "failed", "cancelled"].includes(job.state), () => "still going"),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeout("60 seconds")
  )

const vad = { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 }
const input = new Uint8Array([1, 2, 3])

describe("Jobs (embedded engine, pool double)", () => {
  it.live("a job whose handler dies fails as PoisonJob after INFERD_JOB_MAX_ATTEMPTS tries, never loops", () => {
    const pool = poolDouble(() => Effect.dieMessage("a bug in the handler"))
    return Effect.gen(function*() {
      const jobs = yield* Jobs
      const job = yield* Effect.flatMap(jobs.submit({ kind: "audio.analyze", options: vad }, input), (j) => ended(j.id))
      assert.deepStrictEqual([job.state, job.error?._tag, job.attempts], ["failed", "PoisonJob", 3])
      assert.include(job.error?.message, "a bug in the handler")
      assert.strictEqual(pool.submitted(), 3)
    }).pipe(Effect.provide(engine(pool.layer)))
  }, 60_000)

  it.live("a page whose reading dies fails its job as PoisonJob after the same bound", () => {
    const pool = poolDouble(() => Effect.dieMessage("a bug in the page reader"))
    return Effect.gen(function*() {
      const jobs = yield* Jobs
      const job = yield* Effect.flatMap(jobs.submit({ kind: "ocr", options: { lang: "eng", dpi: 300, ocr: "auto", format: "json" } }, input), (j) => ended(j.id))
      assert.deepStrictEqual([job.state, job.error?._tag], ["failed", "PoisonJob"])
      assert.strictEqual(pool.submitted(), 3)
    }).pipe(Effect.provide(engine(pool.layer)))
  }, 60_000)

  it.live("a page answered interrupted fails its job typed after the same bound, never leaves it running", () => {
    // What a page's stored answer was when its job's runner lost the job's shard mid-page (OcrPages.ts).
    const pool = poolDouble(() => Effect.interrupt)
    return Effect.gen(function*() {
      const jobs = yield* Jobs
      const job = yield* Effect.flatMap(jobs.submit({ kind: "ocr", options: { lang: "eng", dpi: 300, ocr: "auto", format: "json" } }, input), (j) => ended(j.id))
      assert.deepStrictEqual([job.state, job.error?._tag, job.attempts], ["failed", "PoisonJob", 3])
      // The page's answer is kept: the attempts after the first are answered it without reading the page again.
      assert.strictEqual(pool.submitted(), 1)
    }).pipe(Effect.provide(engine(pool.layer)))
  }, 60_000)

  it.live("a cancelled job's page stops reading, though a page ignores its job's fiber going away", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const stopped = yield* Deferred.make<void>()
      const pool = poolDouble(() =>
        Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.onInterrupt(() => Deferred.succeed(stopped, undefined))))
      yield* Effect.gen(function*() {
        const jobs = yield* Jobs
        const job = yield* jobs.submit({ kind: "ocr", options: { lang: "eng", dpi: 300, ocr: "auto", format: "json" } }, input)
        yield* Deferred.await(started)
        assert.strictEqual((yield* jobs.cancel(job.id)).state, "cancelled")
        yield* Deferred.await(stopped).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "the page was still reading 10 s after its job was cancelled" }))
      }).pipe(Effect.provide(engine(pool.layer)))
    }), 60_000)

  it.live("a job stored without its message before the runner started is sent at start and runs", () => {
    const result = { durationSec: 1, sampleRate: 16000, channels: 1, speech: [], speechRatio: 0, rmsDbfs: -90, peakDbfs: -90, durationMs: 1 }
    const dir = mkdtempSync(join(tmpdir(), "inferd-jobs-resend-"))
    const storedBefore = Effect.flatMap(JobTable.JobTable, (table) => table.insert("stored-before-start", { kind: "audio.analyze", options: vad }, input)).pipe(
      Effect.provide(JobTable.layer.pipe(Layer.provide(SqliteClient.layer({ filename: join(dir, "cluster.db") }))))
    )
    const pool = poolDouble(() => Effect.succeed(result))
    return Effect.gen(function*() {
      yield* storedBefore
      const job = yield* Effect.provide(ended("stored-before-start"), engine(pool.layer, { INFERD_DATA_DIR: dir }))
      assert.deepStrictEqual([job.state, job.attempts, job.result], ["done", 1, result])
    })
  }, 60_000)

  it.live("a running job whose message was answered is failed as JobStranded, never left running", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "inferd-jobs-stranded-"))
      const started = yield* Deferred.make<void>()
      const pool = poolDouble(() => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
      yield* Effect.gen(function*() {
        const jobs = yield* Jobs
        const job = yield* jobs.submit({ kind: "audio.analyze", options: vad }, input)
        yield* Deferred.await(started)
        // What the engine does to a message whose entity type is not registered in time: answers it, unrun.
        const db = new Database(join(dir, "cluster.db"))
        try {
          assert.strictEqual(db.prepare("UPDATE cluster_messages SET processed = 1 WHERE entity_type = 'Job' AND entity_id = ?").run(job.id).changes, 1)
        } finally {
          db.close()
        }
        const loop = Option.getOrThrow(yield* (yield* Loops.Loops).get("jobs-stranded"))
        yield* loop.runNow
        const stranded = yield* ended(job.id)
        assert.deepStrictEqual([stranded.state, stranded.error?._tag], ["failed", "JobStranded"])
        // The error keeps its details: which runner the job was left on.
        assert.deepStrictEqual(stranded.error && "runner" in stranded.error ? stranded.error.runner : "no runner kept", stranded.runner)
        assert.strictEqual((yield* loop.status).failures, 0)
      }).pipe(Effect.provide(engine(pool.layer, { INFERD_DATA_DIR: dir })))
    }), 60_000)

  it.live("INFERD_JOB_TTL: an ended job is purged with its messages in the cluster's storage", () => {
    const result = { durationSec: 1, sampleRate: 16000, channels: 1, speech: [], speechRatio: 0, rmsDbfs: -90, peakDbfs: -90, durationMs: 1 }
    const dir = mkdtempSync(join(tmpdir(), "inferd-jobs-ttl-"))
    const messages = (id: string) => {
      const db = new Database(join(dir, "cluster.db"), { readonly: true })
      try {
        return db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM cluster_messages WHERE entity_id = ?").get(id)?.n
      } finally {
        db.close()
      }
    }
    return Effect.gen(function*() {
      const jobs = yield* Jobs
      const job = yield* Effect.flatMap(jobs.submit({ kind: "audio.analyze", options: vad }, input), (j) => ended(j.id))
      assert.strictEqual(job.state, "done")
      assert.strictEqual(messages(job.id), 1)
      const loop = Option.getOrThrow(yield* (yield* Loops.Loops).get("jobs-ttl"))
      yield* loop.runNow
      const missing = yield* Effect.flip(jobs.get(job.id)).pipe(Effect.retry(Schedule.spaced("50 millis")), Effect.timeout("10 seconds"))
      assert.strictEqual(missing._tag, "JobNotFound")
      assert.strictEqual(messages(job.id), 0)
      assert.strictEqual((yield* loop.status).failures, 0)
    }).pipe(Effect.provide(engine(poolDouble(() => Effect.succeed(result)).layer, { INFERD_DATA_DIR: dir, INFERD_JOB_TTL: "0 millis" })))
  }, 60_000)

  it.live("a task refused as Overloaded waits and is tried again until the pool takes it", () => {
    const result = { durationSec: 1, sampleRate: 16000, channels: 1, speech: [], speechRatio: 0, rmsDbfs: -90, peakDbfs: -90, durationMs: 1 }
    const pool = poolDouble((n) =>
      n <= 3 ? Effect.fail(new Overloaded({ message: "full", queued: 8, maxQueue: 8, retryAfterSeconds: 1 })) : Effect.succeed(result))
    return Effect.gen(function*() {
      const jobs = yield* Jobs
      const job = yield* Effect.flatMap(jobs.submit({ kind: "audio.analyze", options: vad }, input), (j) => ended(j.id))
      assert.deepStrictEqual([job.state, job.attempts, job.result], ["done", 1, result])
      assert.strictEqual(pool.submitted(), 4)
    }).pipe(Effect.provide(engine(pool.layer)))
  }, 60_000)
})
