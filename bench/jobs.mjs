#!/usr/bin/env node
// Async jobs on an idle embedded daemon: enqueue → start latency (POST sent until the job's own start time,
// same clock), and how many jobs/s the engine carries when each job is a trivial task. `--only latency` skips
// the rest (what measured the old home-made store before it was replaced).
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
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

  let throughput
  if (values.only !== "latency") {
    const t0 = Date.now()
    const ids = await Promise.all(Array.from({ length: Number(values.burst) }, () =>
      request(`${base}/v1/jobs?kind=audio.analyze`, { body: wav, type: "audio/wav" }).then((r) => json(r).id)))
    const waiting = new Set(ids)
    while (waiting.size > 0) {
      const page = json(await request(`${base}/v1/jobs?state=done&limit=1000`))
      for (const job of page.jobs) waiting.delete(job.id)
      if (waiting.size > 0) await sleep(50)
    }
    const seconds = (Date.now() - t0) / 1000
    throughput = { jobs: ids.length, seconds, perSecond: ids.length / seconds }
    console.log(`trivial jobs through the engine: ${ids.length} in ${seconds.toFixed(1)} s = ${throughput.perSecond.toFixed(0)}/s`)
  }
  save(values.label, { latencyMs: latency, ...(throughput ? { throughput } : {}) })
} finally {
  daemon.kill("SIGTERM")
}
