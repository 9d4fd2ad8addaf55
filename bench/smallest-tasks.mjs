#!/usr/bin/env node
// How long the smallest real tasks take in a worker, against what dispatching one costs: the measure behind
// dropping batching (sending several tasks per message pays only when tasks are far shorter than a dispatch).
// Faces on the smallest photo of ../shared and on a 112x112 crop, VAD on one second of 16 kHz audio and on a
// single 32 ms chunk. usage: node bench/smallest-tasks.mjs [--runs 15]
import { Duration, Effect, Exit, Scope } from "effect"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import sharp from "sharp"
import { median, root, save } from "./lib.mjs"
import * as Tasks from "../dist/Pool/Tasks.js"
import * as WorkerPool from "../dist/Pool/WorkerPool.js"
import * as WorkerSettings from "../dist/Pool/WorkerSettings.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? Number(process.argv[i + 1]) : d }
const runs = arg("runs", 15)
const shared = join(root, "../shared/data")
if (!existsSync(join(shared, "models/version-RFB-320.onnx"))) {
  console.log(`smallest-tasks: skipped: ${shared} has no face models`)
  process.exit(0)
}

const scope = Effect.runSync(Scope.make())
const pool = await Effect.runPromise(WorkerPool.make({
  size: 1, maxQueue: 1000, taskTimeout: Duration.minutes(5), shutdownGrace: Duration.seconds(5), startTimeout: Duration.seconds(60), workerHeapMb: 512,
  settings: WorkerSettings.forTests({ niceness: 0, modelsDir: join(shared, "models") })
}).pipe(Scope.extend(scope)))
while ((await Effect.runPromise(pool.stats)).ready < 1) await new Promise((r) => setTimeout(r, 50))

/** The worker's own time per task (`durationMs`) and the caller's round trip, medians over `runs`. */
const time = async (make) => {
  const worker = [], roundTrip = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    const result = await Effect.runPromise(pool.submit(make()))
    roundTrip.push(performance.now() - t)
    worker.push(result.durationMs)
  }
  return { workerMs: median(worker), roundTripMs: median(roundTrip) }
}

const faces = join(shared, "images/faces")
const smallest = readdirSync(faces).filter((f) => /\.(jpe?g|png)$/.test(f)).sort((a, b) => statSync(join(faces, a)).size - statSync(join(faces, b)).size)[0]
const photo = readFileSync(join(faces, smallest))
const crop = await sharp(photo).resize(112, 112, { fit: "cover" }).jpeg().toBuffer()
/** A mono 16-bit WAV of `samples` samples at 16 kHz (a tone: VAD reads it all the same). */
const wav = (samples) => {
  const b = Buffer.alloc(44 + samples * 2)
  b.write("RIFF", 0); b.writeUInt32LE(36 + samples * 2, 4); b.write("WAVE", 8); b.write("fmt ", 12); b.writeUInt32LE(16, 16)
  b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(16000, 24); b.writeUInt32LE(32000, 28); b.writeUInt16LE(2, 32)
  b.writeUInt16LE(16, 34); b.write("data", 36); b.writeUInt32LE(samples * 2, 40)
  for (let i = 0; i < samples; i++) b.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), 44 + 2 * i)
  return b
}
const vad = { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 }
const cases = {
  [`faces.embed, fast model, ${smallest}`]: () => Tasks.detectFaces(new Uint8Array(photo), { model: "fast", threshold: 0.7, embed: true }),
  "faces.embed, fast model, 112x112 crop": () => Tasks.detectFaces(new Uint8Array(crop), { model: "fast", threshold: 0.7, embed: true }),
  "faces.detect, fast model, 112x112 crop": () => Tasks.detectFaces(new Uint8Array(crop), { model: "fast", threshold: 0.7, embed: false }),
  "audio.analyze, 1 s at 16 kHz (31 VAD chunks)": () => Tasks.analyzeAudio(new Uint8Array(wav(16000)), vad),
  "audio.analyze, one 32 ms VAD chunk": () => Tasks.analyzeAudio(new Uint8Array(wav(512)), vad)
}
const results = {}
for (const [name, make] of Object.entries(cases)) results[name] = await time(make)
console.log(`\n## The smallest real tasks, one worker, medians of ${runs}`)
console.log("| task | worker ms | round trip ms |\n|---|---|---|")
for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.workerMs.toFixed(1)} | ${r.roundTripMs.toFixed(1)} |`)
save("smallestTasks", { runs, results })
await Effect.runPromise(Scope.close(scope, Exit.void))
