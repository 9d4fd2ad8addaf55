/**
 * JobTable on both databases it runs on: SQLite (embedded) and a real PostgreSQL (the suite's, a database of
 * this test's own). Writes are guarded by state, so a duplicate delivery or a late writer cannot undo an end.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { JobRequest } from "../../src/Jobs/Job.js"
import * as JobTable from "../../src/Jobs/JobTable.js"
import { freshDatabase } from "../support/postgres.js"

const sqlite = Layer.unwrapEffect(Effect.sync(() => SqliteClient.layer({ filename: join(mkdtempSync(join(tmpdir(), "inferd-jobtable-")), "jobs.db") })))
const postgres = Layer.unwrapEffect(Effect.map(Effect.promise(freshDatabase), (url) => PgClient.layer({ url: Redacted.make(url) })))

const ocr: JobRequest = { kind: "ocr", options: { lang: "eng", dpi: 300, ocr: "auto", format: "json", timeoutMs: 5000 } }
const bytes = new Uint8Array([1, 2, 3, 4])

const databases: ReadonlyArray<readonly [string, Layer.Layer<SqlClient.SqlClient, unknown>]> = [["SQLite", sqlite], ["PostgreSQL", postgres]]

for (const [name, database] of databases) {
  describe(name, () => {
    layer(JobTable.layer.pipe(Layer.provideMerge(database)), { timeout: 60_000, excludeTestServices: true })((it) => {
      it.effect("stores a job with its options and input; a claim counts attempts and names the runner", () =>
        Effect.gen(function*() {
          const table = yield* JobTable.JobTable
          const job = yield* table.insert("a1", ocr, bytes)
          assert.deepStrictEqual([job.state, job.attempts, job.runner, job.options], ["queued", 0, null, ocr.options])
          const input = yield* table.input("a1")
          assert.deepStrictEqual(Option.map(input, (i) => [i.request, [...i.bytes]]), Option.some([ocr, [1, 2, 3, 4]]))
          assert.deepStrictEqual(yield* table.claim("a1", "10.0.0.1:34431"), Option.some(1))
          assert.deepStrictEqual(yield* table.claim("a1", "10.0.0.2:34431"), Option.some(2))
          const running = yield* table.get("a1")
          assert.deepStrictEqual(Option.map(running, (j) => [j.state, j.runner, j.attempts]), Option.some(["running", "10.0.0.2:34431", 2]))
        }))

      it.effect("an ended job stays ended: no second end, no claim, no cancel; its input is dropped", () =>
        Effect.gen(function*() {
          const table = yield* JobTable.JobTable
          yield* table.insert("b1", ocr, bytes)
          yield* table.claim("b1", "r:1")
          yield* table.succeed("b1", { text: "first" })
          yield* table.fail("b1", { _tag: "ImageUndecodable", message: "late" })
          const job = Option.getOrThrow(yield* table.get("b1"))
          assert.deepStrictEqual([job.state, job.progress, job.result, job.error], ["done", 1, { text: "first" }, undefined])
          assert.isTrue(Option.isNone(yield* table.claim("b1", "r:1")))
          assert.isFalse(yield* table.cancel("b1"))
          assert.isTrue(Option.isNone(yield* table.input("b1")))
        }))

      it.effect("a cancelled job cannot be claimed or finished", () =>
        Effect.gen(function*() {
          const table = yield* JobTable.JobTable
          yield* table.insert("c1", ocr, bytes)
          assert.isTrue(yield* table.cancel("c1"))
          assert.isTrue(Option.isNone(yield* table.claim("c1", "r:1")))
          yield* table.succeed("c1", { text: "too late" })
          const job = Option.getOrThrow(yield* table.get("c1"))
          assert.deepStrictEqual([job.state, job.result], ["cancelled", undefined])
        }))

      it.effect("lists newest first a page at a time, by state, with a cursor that does not shift", () =>
        Effect.gen(function*() {
          const table = yield* JobTable.JobTable
          for (let i = 0; i < 5; i++) {
            yield* table.insert(`d${i}`, ocr, bytes)
            yield* Effect.sleep("2 millis")
          }
          yield* table.claim("d3", "r:1")
          const first = yield* table.list({ limit: 2, state: "queued" })
          assert.deepStrictEqual(first.jobs.map((j) => j.id), ["d4", "d2"])
          assert.isNotNull(first.next)
          yield* table.insert("d5", ocr, bytes)
          const second = yield* table.list({ limit: 2, state: "queued", cursor: first.next ?? undefined })
          assert.deepStrictEqual(second.jobs.map((j) => j.id), ["d1", "d0"])
          const counts = yield* table.counts
          assert.strictEqual(counts.running, 2)
        }))
    })
  })
}
