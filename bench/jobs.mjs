#!/usr/bin/env node
// Async jobs on the embedded engine (SQLite): enqueue → start latency on an idle daemon (POST sent until the
// job's own start time, same clock); jobs/s through the engine itself when each job's task is trivial (in this
// process, over a pool that answers at once, so only the engine is measured); and jobs/s of a real short task
// (voice activity on 0.2 s of silence) over HTTP beside the same requests made synchronously.
// `--only latency` skips the rest (what measured the old home-made store before it was replaced).
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import * as Loops from "../dist/Fibers/Loops.js"
import * as Jobs from "../dist/Jobs/Jobs.js"
import { WorkerPool } from "../dist/Pool/WorkerPool.js"
import { pct, request, root, save, sleep, startDaemon } from "./lib.mjs"

const { values } = parseArgs({ options: { jobs: { type: "string", default: "40" }, burst: { type: "string", default: "400" }, only: { type: "string" }, label: { type: "string", default: "jobs" } } })
const page = readFileSync(`${root}/test/fixtures/images/testocr.png`)
// 0.2 s of 16 kHz silence: voice activity on it is well under a millisecond of work, so the job is the engine.
const wav = (() => {
  const samples = 3200, data = Buffer.alloc(44 + samples * 2)
  data.write("RIFF", 0); data.writeUInt32LE(36 + samples * 2, 4); data.write("WAVEfmt ", 8)
  data.writeUInt32LE(16, 16); data.writeUInt16LE(1, 20); data.writeUInt16LE(1, 22); data.writeUInt32LE(16000, 24)
  data.writeUInt32LE(32000, 28); data.writeUInt16LE(2, 32); data.writeUInt16LE(16, 34); data.write("data", 36); data.writeUInt32LE(samples * 2, 40)
  return data
})()

const json = (response) => JSON.parse(response.body.toString("utf8"))
const finished = (state) => ["done", "failed", "cancelled"].includes(state)
/** When the job started, from its record: `startedAt` today; the old store only had `updatedAt` while running. */
const startedAt = (job) => job.startedAt !== undefined ? Date.parse(job.startedAt) : job.state === "running" ? Date.parse(job.updatedAt) : undefined

/** `n` jobs submitted at once to the engine in this process, over a pool whose tasks answer at once. */
const engine = async (n) => {
  const answer = { durationSec: 0.2, sampleRate: 16000, channels: 1, speech: [], speechRatio: 0, rmsDbfs: -90, peakDbfs: -90, durationMs: 0 }
  const pool = Layer.succeed(WorkerPool, {
    submit: () => Effect.succeed(answer),
    stats: Effect.succeed({ size: 2, ready: 2, busy: 0, queued: 0, restarts: 0, threads: 2, lastStartError: null }),
    drain: Effect.void
  })
  const runtime = ManagedRuntime.make(Jobs.JobsLive.pipe(
    Layer.provide(Loops.layer),
    Layer.provide(pool),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({ INFERD_DATA_DIR: mkdtempSync(join(tmpdir(), "inferd-bench-engine-")) })))
  ))
  try {
    const jobs = await runtime.runPromise(Jobs.Jobs)
    const request = { kind: "audio.analyze", options: { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 } }
    const t0 = Date.now()
    const ids = await runtime.runPromise(Effect.forEach(Array.from({ length: n }), () => Effect.map(jobs.submit(request, wav), (job) => job.id), { concurrency: 64 }))
    const waiting = new Set(ids)
    while (waiting.size > 0) {
      const page = await runtime.runPromise(jobs.list({ state: "done", limit: 1000 }))
      for (const job of page.jobs) waiting.delete(job.id)
      if (waiting.size > 0) await sleep(20)
    }
    const seconds = (Date.now() - t0) / 1000
    return { jobs: n, seconds, perSecond: n / seconds }
  } finally {
    await runtime.dispose()
  }
}

const { daemon, base } = await startDaemon({ INFERD_WORKERS: "1" })
try {
  const latencies = []
  for (let i = 0; i < Number(values.jobs); i++) {
    const sent = Date.now()
    const { id } = json(await request(`${base}/v1/jobs?kind=ocr`, { body: page, type: "image/png" }))
    let start
    for (;;) {
      const job = json(await request(`${base}/v1/jobs/${id}`))
      start ??= startedAt(job)
      if (finished(job.state)) break
      await sleep(2)
    }
    if (start !== undefined) latencies.push(start - sent)
  }
  const latency = { p50: pct(latencies, 0.5), p90: pct(latencies, 0.9), samples: latencies.length }
  console.log(`enqueue → start, ms (${latency.samples} OCR jobs one at a time): p50 ${latency.p50}, p90 ${latency.p90}`)

  let throughput, vad
  if (values.only !== "latency") {
    throughput = await engine(Number(values.burst))
    console.log(`trivial jobs through the engine (SQLite, 2 workers' slots, task answered at once): ${throughput.jobs} in ${throughput.seconds.toFixed(1)} s = ${throughput.perSecond.toFixed(0)}/s`)
    const n = Number(values.burst)
    const t0 = Date.now()
    const ids = await Promise.all(Array.from({ length: n }, () =>
      request(`${base}/v1/jobs?kind=audio.analyze`, { body: wav, type: "audio/wav" }).then((r) => json(r).id)))
    const waiting = new Set(ids)
    while (waiting.size > 0) {
      const page = json(await request(`${base}/v1/jobs?state=done&limit=1000`))
      for (const job of page.jobs) waiting.delete(job.id)
      if (waiting.size > 0) await sleep(50)
    }
    const jobsPerSecond = n / ((Date.now() - t0) / 1000)
    const t1 = Date.now()
    let sent = 0
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (sent++ < n) await request(`${base}/v1/audio/analyze`, { body: wav, type: "audio/wav" })
    }))
    const syncPerSecond = n / ((Date.now() - t1) / 1000)
    vad = { jobsPerSecond, syncPerSecond }
    console.log(`voice activity on 0.2 s, 1 worker, over HTTP: ${jobsPerSecond.toFixed(0)} jobs/s, ${syncPerSecond.toFixed(0)} synchronous requests/s`)
  }
  save(values.label, { latencyMs: latency, ...(throughput ? { throughput, vad } : {}) })
} finally {
  daemon.kill("SIGTERM")
}
