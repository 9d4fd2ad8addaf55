#!/usr/bin/env node
// Face recognition quality of the built daemon, over HTTP, on every shared face photo: face counts against the
// manifest, the cosine of every same-person and different-person pair of faces, and open-set identification
// with a gallery of A–E enrolled from one photo each (the photos the acceptance check enrols), against every
// other face. Identities come from ../shared/data/manifest.json; each face of the group photos is a stranger.
// usage: node bench/faces-pairs.mjs [--data ../shared/data] [--query "model=fast"] [--json FILE]
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { root, startDaemon } from "./lib.mjs"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const data = arg("data", join(root, "../shared/data"))
const query = arg("query", "")
const out = arg("json", undefined)
const manifest = JSON.parse(readFileSync(join(data, "manifest.json"), "utf8")).entries
const photos = manifest.filter((e) => e.file.startsWith("images/faces/"))
const ENROL = { A: "obama.jpg", B: "biden.jpg", C: "alex_lacamoire_img1.jpg", D: "kit_harington_john1.jpeg", E: "rose_leslie_img1.jpg" }
// The same photo as obama2.jpg, saved as RGBA PNG: a pair of the two measures the decoder, not recognition.
const TWINS = [["obama2.jpg", "obama_rgba_32bit.png"]]

const { daemon, base } = await startDaemon({
  INFERD_MODELS_DIR: join(data, "models"),
  INFERD_DATA_DIR: mkdtempSync(join(tmpdir(), "inferd-pairs-")),
  INFERD_CANARY_INTERVAL: "1 hour"
})
const call = async (method, path, file) => {
  const res = await fetch(base + path, { method, body: readFileSync(join(data, "images/faces", file)), headers: { "content-type": file.endsWith(".png") ? "image/png" : "image/jpeg" } })
  const json = await res.json()
  if (!res.ok) throw new Error(`${method} ${path} ${file}: ${res.status} ${JSON.stringify(json)}`)
  return json
}
const sep = query === "" ? "" : `?${query}`

// Every face, with who it is: the manifest's identity, left to right for two_people.jpg, else a stranger.
const faces = [], counts = []
for (const e of photos) {
  const name = e.file.split("/").pop()
  const result = await call("POST", `/v1/faces/embed${sep}`, name)
  const found = [...result.faces].sort((a, b) => a.box.x - b.box.x)
  counts.push({ name, found: found.length, want: e.ground_truth.faces })
  const ids = e.ground_truth.identity ? [e.ground_truth.identity[0]] : e.ground_truth.identities_left_to_right?.map((s) => s[0])
  found.forEach((face, i) => faces.push({ label: found.length > 1 ? `${name}#${i}` : name, name, id: ids?.[i] ?? `${name}#${i}`, embedding: face.embedding }))
}
const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0)
const twin = (a, b) => TWINS.some(([x, y]) => (a.name === x && b.name === y) || (a.name === y && b.name === x))
const same = [], different = []
for (let i = 0; i < faces.length; i++) for (let j = i + 1; j < faces.length; j++) {
  const [a, b] = [faces[i], faces[j]]
  const pair = { a: a.label, b: b.label, ids: a.id === b.id ? a.id : `${a.id}/${b.id}`, cosine: +cos(a.embedding, b.embedding).toFixed(4), twin: twin(a, b) }
  ;(a.id === b.id ? same : different).push(pair)
}
const real = same.filter((p) => !p.twin)
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length
const stats = {
  faces: faces.length,
  samePairs: real.length,
  differentPairs: different.length,
  sameMin: Math.min(...real.map((p) => p.cosine)),
  sameMean: +mean(real.map((p) => p.cosine)).toFixed(4),
  differentMax: Math.max(...different.map((p) => p.cosine)),
  differentMean: +mean(different.map((p) => p.cosine)).toFixed(4)
}
stats.margin = +(stats.sameMin - stats.differentMax).toFixed(4)

console.log(`## Faces over HTTP (${query || "defaults"}): counts`)
for (const c of counts) console.log(`${c.found === c.want ? "ok  " : "MISS"} ${c.name}: ${c.found} of ${c.want}`)
console.log(`\n## Same-person pairs (${real.length}, plus ${same.length - real.length} twin file pair(s) not counted)`)
for (const p of same) console.log(`| ${p.ids} | ${p.a} | ${p.b} | ${p.cosine.toFixed(3)}${p.twin ? " (same photo, RGBA PNG)" : ""} |`)
console.log(`\n## Different-person pairs (${different.length}), highest ten`)
for (const p of [...different].sort((x, y) => y.cosine - x.cosine).slice(0, 10)) console.log(`| ${p.ids} | ${p.a} | ${p.b} | ${p.cosine.toFixed(3)} |`)
const histogram = (xs) => {
  const bins = new Map()
  for (const x of xs) { const b = Math.floor(x * 10) / 10; bins.set(b, (bins.get(b) ?? 0) + 1) }
  return [...bins].sort((a, b) => a[0] - b[0]).map(([b, n]) => `${b.toFixed(1)}..${(b + 0.1).toFixed(1)}: ${n}`).join(", ")
}
console.log(`\nsame:      ${histogram(real.map((p) => p.cosine))}`)
console.log(`different: ${histogram(different.map((p) => p.cosine))}`)
console.log(`\nsame min/mean ${stats.sameMin.toFixed(3)}/${stats.sameMean.toFixed(3)}, different max/mean ${stats.differentMax.toFixed(3)}/${stats.differentMean.toFixed(3)}, margin ${stats.margin.toFixed(3)}`)

// Open-set identification through the daemon's own gallery: enrol A–E, then every face not used to enrol.
for (const [id, file] of Object.entries(ENROL)) await call("PUT", `/v1/gallery/${id}${sep}`, file)
const used = new Set(Object.values(ENROL))
const identified = []
for (const e of photos) {
  const name = e.file.split("/").pop()
  if (used.has(name)) continue
  const result = await call("POST", `/v1/faces/identify${sep}`, name)
  const found = [...result.faces].sort((a, b) => a.box.x - b.box.x)
  found.forEach((face, i) => {
    const want = faces.find((f) => f.name === name && f.label === (found.length > 1 ? `${name}#${i}` : name))?.id
    const expected = want !== undefined && Object.hasOwn(ENROL, want) ? want : null
    identified.push({ face: found.length > 1 ? `${name}#${i}` : name, got: face.match?.personId ?? null, similarity: face.match?.similarity ?? null, want: expected })
  })
}
const right = identified.filter((r) => r.got === r.want).length
console.log(`\n## Identification, gallery A–E from ${Object.values(ENROL).join(", ")}: ${right} of ${identified.length} right`)
for (const r of identified) console.log(`${r.got === r.want ? "ok  " : "WRONG"} ${r.face}: ${r.got}${r.similarity === null ? "" : ` (${r.similarity})`} want ${r.want}`)

if (out) writeFileSync(out, JSON.stringify({ query, counts, same, different, stats, identified }, null, 1) + "\n")
daemon.kill("SIGTERM")
