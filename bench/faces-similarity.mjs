#!/usr/bin/env node
// Face crops and identities, measured on the shared photos with the built modules (npm run build first), in
// this thread, one onnxruntime thread: how well same-person pairs separate from different-person pairs for a
// few crop rules (CROP_RULE in src/Workers/FacePrep.ts is the one shipped), and detection time per photo.
// usage: node bench/faces-similarity.mjs [--data ../shared/data] [--runs 5]
import { Effect, Scope, Exit } from "effect"
import { readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import * as FacePrep from "../dist/Workers/FacePrep.js"
import * as FaceEmbed from "../dist/Workers/FaceEmbed.js"
import * as OnnxSession from "../dist/Workers/OnnxSession.js"
import * as UltraFace from "../dist/Workers/UltraFace.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const data = arg("data", new URL("../../shared/data", import.meta.url).pathname)
const runs = Number(arg("runs", 5))
const models = join(data, "models"), photos = join(data, "images/faces")
const run = (effect) => Effect.runPromise(effect)
const scope = await run(Scope.make())
const open = (effect) => run(Scope.extend(effect, scope))

const detectors = { accurate: await open(UltraFace.open(models, "accurate", 1)), fast: await open(UltraFace.open(models, "fast", 1)) }
const session = await open(OnnxSession.open(join(models, FaceEmbed.FILE), { model: FaceEmbed.FILE, threads: 1, inputs: ["input0"] }))
const embed = (image, box, rule) => run(Effect.gen(function*() {
  const crop = yield* FacePrep.faceCrop(image, box, rule)
  const input = (flip) => ({ input0: OnnxSession.tensor(FacePrep.embedderInput(crop, flip), [1, 3, 112, 112]) })
  const a = (yield* session.run(input(false), ["output0"])).output0
  const b = (yield* session.run(input(true), ["output0"])).output0
  return FaceEmbed.normalise(a.map((x, i) => x + b[i]))
}))
const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0)
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]

console.log("detection, ms per photo (decode + resize + inference + NMS; median of", runs, "after a warm-up)")
const found = { accurate: [], fast: [] }
for (const name of readdirSync(photos).sort()) {
  const bytes = new Uint8Array(readFileSync(join(photos, name)))
  const row = [name.padEnd(26)]
  for (const model of ["accurate", "fast"]) {
    const decodeTimes = []
    for (let i = 0; i < runs; i++) { const t = performance.now(); await run(FacePrep.decode(bytes, 50_000_000)); decodeTimes.push(performance.now() - t) }
    if (model === "accurate") row.push(`decode ${median(decodeTimes).toFixed(1)} ms`)
    const once = () => run(Effect.flatMap(FacePrep.decode(bytes, 50_000_000), (image) => Effect.map(detectors[model].detect(image, 0.7), (faces) => ({ image, faces }))))
    const result = await once()
    const times = []
    for (let i = 0; i < runs; i++) { const t = performance.now(); await once(); times.push(performance.now() - t) }
    row.push(`${model} ${result.faces.length} face(s) ${median(times).toFixed(1)} ms`)
    // Left to right; the identities the manifest gives (A, B), every other face a stranger of its own.
    result.faces.slice().sort((a, b) => a.box.x - b.box.x).forEach((face, i) => {
      if (name === "obama_rgba_32bit.png") return // obama2.jpg's twin, not a second photo
      const id = name.startsWith("obama") ? "A" : name === "biden.jpg" ? "B" : name === "two_people.jpg" ? ["A", "B"][i] : `${name}#${i}`
      found[model].push({ name: `${name}#${i}`, id, image: result.image, box: face.box })
    })
  }
  console.log(row.join("  "))
}

const rules = [
  ["box square (shift 0)", { scale: 1, shift: 0 }],
  [`shipped (shift ${FacePrep.CROP_RULE.shift})`, FacePrep.CROP_RULE],
  ["shift 0.075", { scale: 1, shift: 0.075 }],
  ["shift 0.1", { scale: 1, shift: 0.1 }],
  ["scale 0.9, shift 0.05", { scale: 0.9, shift: 0.05 }],
  ["scale 1.1, shift 0.05", { scale: 1.1, shift: 0.05 }],
  ["shift -0.05 (down)", { scale: 1, shift: -0.05 }]
]
console.log("\ncosine similarity: same-person pairs, A-vs-B pairs, and the highest of all different-person pairs (the 14 faces of the group photos are strangers)")
for (const model of ["accurate", "fast"]) {
  for (const [label, rule] of rules) {
    const faces = found[model]
    const embeddings = []
    for (const face of faces) embeddings.push(await embed(face.image, face.box, rule))
    const same = [], different = []
    for (let i = 0; i < faces.length; i++) for (let j = i + 1; j < faces.length; j++) {
      if (faces[i].id === faces[j].id) same.push(`${faces[i].name.replace(/\.(jpg|png)#0$/, "").replace(".jpg#", "#")}~${faces[j].name.replace(/\.(jpg|png)#0$/, "").replace(".jpg#", "#")} ${cos(embeddings[i], embeddings[j]).toFixed(2)}`)
      else different.push(cos(embeddings[i], embeddings[j]))
    }
    const ab = []
    for (let i = 0; i < faces.length; i++) for (let j = i + 1; j < faces.length; j++) {
      if (["A", "B"].includes(faces[i].id) && ["A", "B"].includes(faces[j].id) && faces[i].id !== faces[j].id) ab.push(cos(embeddings[i], embeddings[j]))
    }
    console.log(`${model.padEnd(8)} ${label.padEnd(24)} same ${same.join(", ")} | A-vs-B ${Math.min(...ab).toFixed(2)}..${Math.max(...ab).toFixed(2)} | any different max ${Math.max(...different).toFixed(2)} (${different.length} pairs)`)
  }
}
await run(Scope.close(scope, Exit.void))
