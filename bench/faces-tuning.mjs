#!/usr/bin/env node
// The measurements behind the face pipeline's settings, on the shared photos, with the built modules
// (npm run build first), in this thread, one onnxruntime thread:
//  1. detection: faces found and the scores of real and spurious faces for YuNet at several input sizes, and
//     the CPU time per photo (this process's, mean of --runs: waiting for a busy CPU does not count);
//  2. embeddings: same-person vs different-person cosines for normalisation and mirroring variants;
//  3. gallery: a person's best-matching photo or the mean of their photos, leave-one-out.
// usage: node bench/faces-tuning.mjs [--data ../shared/data] [--runs 5]
import { Effect, Exit, Scope } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as FaceAlign from "../dist/Workers/FaceAlign.js"
import * as FaceEmbed from "../dist/Workers/FaceEmbed.js"
import * as FacePrep from "../dist/Workers/FacePrep.js"
import * as OnnxSession from "../dist/Workers/OnnxSession.js"
import { FACE_DEFAULTS } from "../dist/Workers/Protocol.js"
import * as YuNet from "../dist/Workers/YuNet.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const data = arg("data", new URL("../../shared/data", import.meta.url).pathname)
const runs = Number(arg("runs", 5))
const models = join(data, "models")
const run = (effect) => Effect.runPromise(effect)
const scope = await run(Scope.make())
const open = (effect) => run(Scope.extend(effect, scope))
const cpu = () => { const { system, user } = process.cpuUsage(); return (system + user) / 1000 }
const timed = async (f) => { let out; const t = cpu(); for (let i = 0; i < runs; i++) out = await f(); return { out, ms: (cpu() - t) / runs } }

const manifest = JSON.parse(readFileSync(join(data, "manifest.json"), "utf8")).entries.filter((e) => e.file.startsWith("images/faces/"))
const photos = await Promise.all(manifest.map(async (e) => {
  const name = e.file.split("/").pop()
  const bytes = new Uint8Array(readFileSync(join(data, e.file)))
  const image = await run(FacePrep.decode(bytes, 50_000_000))
  const ids = e.ground_truth.identity ? [e.ground_truth.identity[0]] : e.ground_truth.identities_left_to_right?.map((s) => s[0])
  return { name, bytes, image, want: e.ground_truth.faces, ids }
}))

// 1. Detection.
const yunet = await open(YuNet.open(models, 1))
const SIZES = [320, 384, 416, 480, 640]
console.log(`## Detection, YuNet (${YuNet.FILE}) at score 0.05 by longer side: faces found (truth) + others, lowest real-face score / highest other score, CPU ms (mean of ${runs})`)
console.log(`| photo | ${SIZES.map((s) => `${s}`).join(" | ")} |\n|---|${SIZES.map(() => "---").join("|")}|`)
const lowest = Object.fromEntries(SIZES.map((s) => [s, 1])), highestOther = Object.fromEntries(SIZES.map((s) => [s, 0]))
const totals = Object.fromEntries(SIZES.map((s) => [s, 0]))
for (const p of photos) {
  const cells = []
  for (const size of SIZES) {
    // As the daemon detects: decoded straight at the detector's scale, then YuNet.
    const { out, ms } = await timed(() =>
      run(Effect.flatMap(FacePrep.decodeScaled(p.bytes, 50_000_000, size), ({ scaled, ...original }) => yunet.detect(scaled, original, 0.05))))
    // The truth's count of faces are the best-scoring ones (checked by eye on the boxes: each is a face).
    const real = out.slice(0, p.want), other = out.slice(p.want)
    const low = real.length ? Math.min(...real.map((f) => f.score)) : NaN, high = other.length ? Math.max(...other.map((f) => f.score)) : NaN
    lowest[size] = Math.min(lowest[size], low)
    if (other.length) highestOther[size] = Math.max(highestOther[size], high)
    totals[size] += ms
    cells.push(`${real.length}${other.length ? `+${other.length}` : ""} ${low.toFixed(2)}${other.length ? `/${high.toFixed(2)}` : ""} ${ms.toFixed(1)}`)
  }
  console.log(`| ${p.name} (${p.want}) | ${cells.join(" | ")} |`)
}
console.log(`| lowest real / highest other / total ms | ${SIZES.map((s) => `${lowest[s].toFixed(2)} / ${highestOther[s].toFixed(2)} / ${totals[s].toFixed(0)}`).join(" | ")} |`)

// 2. Embeddings, on YuNet's landmarks at each model's size and the default minScore.
const session = await open(OnnxSession.open(join(models, FaceEmbed.FILE), { model: FaceEmbed.FILE, threads: 1, inputs: ["input0"] }))
const NORMS = {
  imagenet: (face, flip) => FaceEmbed.input(face, flip),
  "127.5/128": (face, flip) => {
    const out = new Float32Array(3 * 112 * 112)
    for (let y = 0; y < 112; y++) for (let x = 0; x < 112; x++) for (let c = 0; c < 3; c++) out[c * 112 * 112 + y * 112 + x] = (face[(y * 112 + (flip ? 111 - x : x)) * 3 + c] - 127.5) / 128
    return out
  }
}
const embed = async (face, norm, flip) => {
  const once = async (mirror) => (await run(session.run({ input0: OnnxSession.tensor(NORMS[norm](face, mirror), [1, 3, 112, 112]) }, ["output0"]))).output0
  const a = await once(false)
  if (!flip) return FaceEmbed.normalise(a)
  const b = await once(true)
  return FaceEmbed.normalise(a.map((x, i) => x + b[i]))
}
const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0)
const TWIN = new Set(["obama2.jpg|obama_rgba_32bit.png", "obama_rgba_32bit.png|obama2.jpg"])
const faces = { accurate: [], fast: [] }
const alignMs = []
for (const [model, size] of Object.entries(YuNet.SIZES)) {
  for (const p of photos) {
    const scaled = await run(FacePrep.scale(p.image, size))
    const found = (await run(yunet.detect(scaled, p.image, FACE_DEFAULTS.minScore))).slice().sort((a, b) => a.box.x - b.box.x)
    found.forEach((f, i) => {
      const t = cpu()
      const aligned = FaceAlign.warp(p.image, f.landmarks)
      alignMs.push(cpu() - t)
      faces[model].push({ photo: p.name, label: found.length > 1 ? `${p.name}#${i}` : p.name, id: p.ids?.[i] ?? `${p.name}#${i}`, aligned })
    })
  }
}
console.log(`\n## Embeddings: cosine of same-person pairs (min/mean) and different-person pairs (max/mean), margin = min same - max different`)
console.log(`alignment: ${(alignMs.reduce((s, x) => s + x, 0) / alignMs.length).toFixed(2)} ms CPU per face (mean of ${alignMs.length})`)
const pairs = (list) => {
  const same = [], different = []
  for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) {
    if (TWIN.has(`${list[i].photo}|${list[j].photo}`)) continue
    ;(list[i].id === list[j].id ? same : different).push(cos(list[i].e, list[j].e))
  }
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length
  return { same, different, sameMin: Math.min(...same), sameMean: mean(same), diffMax: Math.max(...different), diffMean: mean(different) }
}
let shipped
for (const model of ["accurate", "fast"]) {
  for (const norm of Object.keys(NORMS)) {
    for (const flip of [true, false]) {
      const list = []
      for (const f of faces[model]) list.push({ ...f, e: await embed(f.aligned, norm, flip) })
      const s = pairs(list)
      if (model === "accurate" && norm === "imagenet" && flip) shipped = list
      console.log(`${model.padEnd(8)} ${norm.padEnd(9)} ${flip ? "flip-sum" : "no flip "}: same ${s.sameMin.toFixed(3)}/${s.sameMean.toFixed(3)} (${s.same.length}), different ${s.diffMax.toFixed(3)}/${s.diffMean.toFixed(3)} (${s.different.length}), margin ${(s.sameMin - s.diffMax).toFixed(3)}`)
    }
  }
}

// 3. Gallery: each person enrolled from all their photos but one, identified on the one left out, by the best
// single photo or by the mean of the photos; strangers against everyone. Only people with two or more photos
// other than the RGBA twin count as held out.
const people = {}
for (const f of shipped) if (/^[A-E]$/.test(f.id) && f.photo !== "obama_rgba_32bit.png") (people[f.id] ??= []).push(f)
const strangers = shipped.filter((f) => !/^[A-E]$/.test(f.id))
const unit = (v) => { const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1; return v.map((x) => x / n) }
const scoreBy = {
  best: (probe, gallery) => Math.max(...gallery.map((g) => cos(probe.e, g.e))),
  mean: (probe, gallery) => cos(probe.e, unit(gallery[0].e.map((_, i) => gallery.reduce((s, g) => s + g.e[i], 0))))
}
console.log(`\n## Gallery, leave one photo out: lowest right-person score, highest wrong-person score (strangers included), margin`)
for (const [rule, score] of Object.entries(scoreBy)) {
  let right = 1, wrong = -1, trials = 0
  for (const [id, list] of Object.entries(people)) {
    if (list.length < 2) continue
    list.forEach((probe, k) => {
      const gallery = Object.fromEntries(Object.entries(people).map(([pid, l]) => [pid, pid === id ? l.filter((_, j) => j !== k) : l]))
      right = Math.min(right, score(probe, gallery[id]))
      for (const [pid, l] of Object.entries(gallery)) if (pid !== id) wrong = Math.max(wrong, score(probe, l))
      trials++
    })
  }
  for (const s of strangers) for (const l of Object.values(people)) wrong = Math.max(wrong, score(s, l))
  console.log(`${rule.padEnd(5)}: ${trials} held-out photos, right >= ${right.toFixed(3)}, wrong <= ${wrong.toFixed(3)}, margin ${(right - wrong).toFixed(3)}`)
}
await run(Scope.close(scope, Exit.void))
