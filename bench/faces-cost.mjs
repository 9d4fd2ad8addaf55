#!/usr/bin/env node
// What a face costs on one thread: the built daemon with one worker and one onnxruntime thread, each shared face
// photo sent --runs times to /v1/faces/detect, then --runs times to /v1/faces/embed. Two measures: the daemon
// process's CPU time per request (/proc, whole process: HTTP included), which waiting for a busy CPU does not
// inflate, and the worker's own wall-clock durationMs, the best of the runs. Per face = embed / faces; the
// embedding alone = (embed - detect) / faces.
// usage: node bench/faces-cost.mjs [--data ../shared/data] [--runs 9] [--query "model=fast"]
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { request, save, startDaemon } from "./lib.mjs"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const data = arg("data", new URL("../../shared/data", import.meta.url).pathname)
const runs = Number(arg("runs", 9))
const query = arg("query", "")
const dir = join(data, "images/faces")
if (!existsSync(dir) || !existsSync(join(data, "models/yunet_s_dynamic.onnx"))) {
  console.log(`no face photos or models under ${data}: skipped`)
  process.exit(0)
}
const { daemon, base } = await startDaemon({
  INFERD_MODELS_DIR: join(data, "models"), INFERD_WORKERS: "1", INFERD_ONNX_THREADS: "1", INFERD_CANARY_INTERVAL: "1 hour"
})
// utime + stime of the daemon, in ms (the kernel counts in ticks of 10 ms: many runs average that out).
const cpuMs = () => readFileSync(`/proc/${daemon.pid}/stat`, "utf8").split(") ")[1].split(" ").slice(11, 13).reduce((s, t) => s + Number(t), 0) * 10

const measure = async (route, body, type) => {
  const walls = []
  let faces = 0
  const before = cpuMs()
  for (let i = 0; i < runs; i++) {
    const r = await request(`${base}/v1/faces/${route}${query ? `?${query}` : ""}`, { body, type })
    if (!r.ok) throw new Error(`${route}: HTTP ${r.status} ${r.body}`)
    const json = JSON.parse(r.body)
    walls.push(json.durationMs)
    faces = json.faces.length
  }
  return { cpu: (cpuMs() - before) / runs, wall: Math.min(...walls), faces }
}
const rows = []
for (const name of readdirSync(dir).sort()) {
  const body = readFileSync(join(dir, name)), type = name.endsWith(".png") ? "image/png" : "image/jpeg"
  await measure("embed", body, type) // warm-up
  const detect = await measure("detect", body, type), embed = await measure("embed", body, type)
  rows.push({ name, faces: embed.faces, detect, embed })
}
const f1 = (x) => x.toFixed(1)
console.log(`## One worker, one onnxruntime thread (${query || "defaults"}): daemon CPU ms per request (mean of ${runs}) / worker wall ms (best of ${runs})`)
console.log("| photo | faces | detect | detect + embed | per face | embedding per face |\n|---|---|---|---|---|---|")
for (const r of rows) {
  const n = Math.max(1, r.faces)
  console.log(`| ${r.name} | ${r.faces} | ${f1(r.detect.cpu)} / ${r.detect.wall} | ${f1(r.embed.cpu)} / ${r.embed.wall} | ${f1(r.embed.cpu / n)} / ${f1(r.embed.wall / n)} | ${f1((r.embed.cpu - r.detect.cpu) / n)} / ${f1((r.embed.wall - r.detect.wall) / n)} |`)
}
const sum = (f) => rows.reduce((s, r) => s + f(r), 0)
const total = { photos: rows.length, faces: sum((r) => r.faces), detectCpu: sum((r) => r.detect.cpu), embedCpu: sum((r) => r.embed.cpu), detectWall: sum((r) => r.detect.wall), embedWall: sum((r) => r.embed.wall) }
total.perFaceCpu = total.embedCpu / total.faces
total.embeddingPerFaceCpu = (total.embedCpu - total.detectCpu) / total.faces
total.perFaceWall = total.embedWall / total.faces
console.log(`all ${total.photos} photos, ${total.faces} faces: detection ${f1(total.detectCpu / total.photos)} ms CPU per photo; detection + embedding ${f1(total.perFaceCpu)} ms CPU per face (${f1(total.perFaceWall)} ms worker wall), the embedding alone ${f1(total.embeddingPerFaceCpu)} ms CPU per face`)
save(`facesCost${query ? "-" + query : ""}`, { runs, rows, total })
daemon.kill("SIGTERM")
