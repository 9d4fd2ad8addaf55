#!/usr/bin/env node
// PDF throughput at saturation: inferd over HTTP (one scanned PDF per request, its pages spread over the pool)
// against the same renderer (inferd's own renderer thread, dist/Workers/Render.js, one per worker) feeding
// tesseract.js's scheduler with as many workers, no HTTP; and a born-digital 50-page PDF answered from its
// text layer. usage: node bench/pdf.mjs [--pages 12] [--rounds 3] [--dpi 300]
import { Worker } from "node:worker_threads"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { PDFDocument, StandardFonts } from "pdf-lib"
import Tesseract from "tesseract.js"
import { fmt, interleave, request, root, save, spread, startDaemon } from "./lib.mjs"
import { tesseractLangPath } from "../dist/Pool/WorkerSettings.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const pages = Number(arg("pages", 12)), rounds = Number(arg("rounds", 3)), dpi = Number(arg("dpi", 300))

/** A PDF of `pages` scans of the test page (640x480 at 150 dpi, so 1280x960 pixels rendered at 300 dpi). */
const scanned = async () => {
  const doc = await PDFDocument.create()
  const png = await doc.embedPng(readFileSync(join(root, "test/fixtures/images/testocr.png")))
  for (let i = 0; i < pages; i++) doc.addPage([307.2, 230.4]).drawImage(png, { x: 0, y: 0, width: 307.2, height: 230.4 })
  return Buffer.from(await doc.save())
}
/** 50 A4 pages of text, as a word processor writes them. */
const bornDigital = async () => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  for (let p = 0; p < 50; p++) {
    const page = doc.addPage([595, 842])
    for (let l = 0; l < 40; l++) page.drawText(`Page ${p + 1}, line ${l + 1}: the quick brown fox jumps over the lazy dog.`, { x: 56, y: 780 - l * 18, size: 11, font })
  }
  return Buffer.from(await doc.save())
}
const pdf = await scanned()
const digital = await bornDigital()

const { daemon, base } = await startDaemon({ INFERD_CANARY_INTERVAL: "1 hour" })
const workers = (await (await fetch(base + "/status")).json()).pool.size

// The peer: inferd's renderer thread as it is, one per worker, and tesseract.js's scheduler.
const scheduler = Tesseract.createScheduler()
for (let i = 0; i < workers; i++) scheduler.addWorker(await Tesseract.createWorker("eng", Tesseract.OEM.LSTM_ONLY, { langPath: tesseractLangPath(), gzip: true, cacheMethod: "none" }))
const renderers = Array.from({ length: workers }, () => {
  const thread = new Worker(join(root, "dist/Workers/Render.js"))
  const waiting = new Map()
  let next = 0
  thread.on("message", (reply) => { waiting.get(reply.id)(reply); waiting.delete(reply.id) })
  const call = (request) => new Promise((resolve) => { const id = next++; waiting.set(id, resolve); thread.postMessage({ ...request, id }) })
  return { thread, call }
})
const pgm = ({ pixels, width, height }) => Buffer.concat([Buffer.from(`P5\n${width} ${height}\n255\n`), Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength)])
await Promise.all(renderers.map((r) => r.call({ op: "selftest" })))

const viaHttp = async () => {
  const t = performance.now()
  const r = await request(base + `/v1/ocr?dpi=${dpi}`, { body: pdf, type: "application/pdf" })
  if (!r.ok) throw new Error(`HTTP ${r.status} ${r.body}`)
  return pages / ((performance.now() - t) / 1000)
}
const viaScheduler = async () => {
  const t = performance.now()
  let next = 1
  await Promise.all(renderers.map(async (renderer) => {
    while (next <= pages) {
      const page = next++
      const reply = await renderer.call({ op: "page", document: pdf, page, dpi, maxPixels: 50_000_000, textLayer: false })
      // As inferd does: tesseract told the page's resolution, asked for text and every word's box (TSV).
      await scheduler.addJob("recognize", pgm(reply.value), { user_defined_dpi: String(dpi) }, { text: true, tsv: true })
    }
  }))
  return pages / ((performance.now() - t) / 1000)
}
await viaHttp()
await viaScheduler()
const results = Object.fromEntries(Object.entries(await interleave(rounds, { inferdHttp: viaHttp, rendererAndScheduler: viaScheduler })).map(([k, v]) => [k, spread(v)]))
const ratio = results.inferdHttp.median / results.rendererAndScheduler.median

const textLayerMs = []
for (let r = 0; r < rounds; r++) {
  const t = performance.now()
  const answer = await request(base + "/v1/ocr", { body: digital, type: "application/pdf" })
  textLayerMs.push(performance.now() - t)
  const body = JSON.parse(answer.body.toString())
  if (body.pages.length !== 50 || body.pages.some((p) => p.source !== "text")) throw new Error("the born-digital PDF was not read from its text layer")
}
const textLayer = spread(textLayerMs)

console.log(`\n## PDF throughput, ${workers} worker(s), a ${pages}-page scanned PDF at ${dpi} dpi per round`)
console.log(`| | pages/s |\n|---|---|`)
for (const [name, s] of Object.entries(results)) console.log(`| ${name} | ${fmt(s, 2)} |`)
console.log(`inferd HTTP / same renderer + tesseract.js scheduler: ${ratio.toFixed(2)}`)
console.log(`born-digital 50-page PDF from its text layer: ${fmt(textLayer, 0)} ms`)
save("pdf", { workers, pages, dpi, rounds, ...results, textLayer50Ms: textLayer, ratios: { httpVsRendererScheduler: ratio } })

await scheduler.terminate()
for (const r of renderers) await r.thread.terminate()
daemon.kill("SIGTERM")
