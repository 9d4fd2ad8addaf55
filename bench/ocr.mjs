#!/usr/bin/env node
// OCR throughput at saturation: inferd over HTTP vs tesseract.js's own createScheduler with the same number of
// workers (no HTTP), and vs the native `tesseract` CLI in parallel processes when it is installed.
// usage: node bench/ocr.mjs [--workers N (default: the daemon's own)] [--pages 24] [--rounds 3] [--image …]
import { spawn, execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import Tesseract from "tesseract.js"
import { fmt, interleave, request, root, save, spread, startDaemon } from "./lib.mjs"
import { tesseractLangPath } from "../dist/Pool/WorkerSettings.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const pages = Number(arg("pages", 24)), rounds = Number(arg("rounds", 3))
const imagePath = join(root, arg("image", "test/fixtures/images/testocr.png"))
const image = readFileSync(imagePath)

const { daemon, base } = await startDaemon({ ...(arg("workers") ? { INFERD_WORKERS: arg("workers") } : {}), INFERD_CANARY_INTERVAL: "1 hour" })
// The daemon's own pool size (its default unless --workers), and the same number of tesseract.js workers.
const workers = (await (await fetch(base + "/status")).json()).pool.size

const scheduler = Tesseract.createScheduler()
for (let i = 0; i < workers; i++) {
  const w = await Tesseract.createWorker("eng", Tesseract.OEM.LSTM_ONLY, { langPath: tesseractLangPath(), gzip: true, cacheMethod: "none" })
  scheduler.addWorker(w)
}

let native = null
try { execFileSync("tesseract", ["--version"], { stdio: "ignore" }); native = true } catch { native = false }
const nativeRun = () => new Promise((resolve, reject) => {
  const p = spawn("tesseract", [imagePath, "stdout", "tsv"], { env: { ...process.env, OMP_THREAD_LIMIT: "1" }, stdio: ["ignore", "ignore", "ignore"] })
  p.on("exit", (code) => code === 0 ? resolve() : reject(new Error(`tesseract exited ${code}`)))
})

/** pages/s with `workers` pages in flight at a time */
const saturate = (one) => async () => {
  let next = 0
  const t = performance.now()
  await Promise.all(Array.from({ length: workers * 2 }, async () => { while (next++ < pages) await one() }))
  return pages / ((performance.now() - t) / 1000)
}
const viaHttp = async () => {
  const r = await request(base + "/v1/ocr", { body: image, type: "image/png" })
  if (!r.ok) throw new Error(`HTTP ${r.status}`)
}
// Every competitor produces what inferd answers, the text and every word's box, the cheapest way it can:
// tesseract's TSV, as inferd asks for it too (tesseract.js's `blocks` tree costs about 2% more per page).
const competitors = { inferdHttp: saturate(viaHttp), tesseractScheduler: saturate(() => scheduler.addJob("recognize", image, {}, { text: true, tsv: true })) }
if (native) competitors.nativeCli = saturate(nativeRun)
for (const run of Object.values(competitors)) await run() // warm-up round

const results = Object.fromEntries(Object.entries(await interleave(rounds, competitors)).map(([k, v]) => [k, spread(v)]))
const ratio = results.inferdHttp.median / results.tesseractScheduler.median
console.log(`\n## OCR throughput, ${workers} worker(s), ${pages} pages of ${arg("image", "test/fixtures/images/testocr.png")} per round`)
console.log(`| | pages/s |\n|---|---|`)
for (const [name, s] of Object.entries(results)) console.log(`| ${name} | ${fmt(s, 2)} |`)
console.log(`inferd HTTP / tesseract.js scheduler: ${ratio.toFixed(2)}${native ? `; inferd / native CLI: ${(results.inferdHttp.median / results.nativeCli.median).toFixed(2)}` : "; native tesseract CLI not installed (apt-get install tesseract-ocr)"}`)
save("ocr", { workers, pages, rounds, ...results, ratios: { httpVsScheduler: ratio, httpVsNative: native ? results.inferdHttp.median / results.nativeCli.median : null } })

await scheduler.terminate()
daemon.kill("SIGTERM")
