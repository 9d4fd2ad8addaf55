#!/usr/bin/env node
// Where inferd's OCR overhead goes: the same tesseract.js work (a) from tesseract.js's scheduler on this thread,
// (b) from plain worker threads that read the header with sharp first, as inferd's workers do, and (c) from
// inferd over HTTP, with pages/s and CPU per page (this process and the daemon, all threads), interleaved.
// usage: node bench/ocr-overhead.mjs [--pages 24] [--rounds 4]
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import Tesseract from "tesseract.js"
import { fmt, interleave, request, root, spread, startDaemon } from "./lib.mjs"
import { tesseractLangPath } from "../dist/Pool/WorkerSettings.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? Number(process.argv[i + 1]) : d }
const pages = arg("pages", 24), rounds = arg("rounds", 4), workers = 2, inflight = 4
const image = readFileSync(join(root, "test/fixtures/images/testocr.png"))
const langPath = tesseractLangPath()
const cpuMs = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) * 10 }

const scheduler = Tesseract.createScheduler()
for (let i = 0; i < workers; i++) scheduler.addWorker(await Tesseract.createWorker("eng", 1, { langPath, gzip: true, cacheMethod: "none" }))

const threadCode = `
const { parentPort, workerData } = require("node:worker_threads")
const Tesseract = require("tesseract.js"), sharp = require("sharp")
sharp.concurrency(1); sharp.cache(false); require("node:os").setPriority(0, 10)
Tesseract.createWorker("eng", 1, { langPath: workerData.langPath, gzip: true, cacheMethod: "none" }).then((w) => {
  parentPort.postMessage("ready")
  parentPort.on("message", async ({ id, image }) => {
    await sharp(image, { limitInputPixels: false }).metadata()
    const { data } = await w.recognize(Buffer.from(image), {}, { text: true, tsv: true })
    parentPort.postMessage({ id, text: data.text, tsv: data.tsv })
  })
})`
const threads = await Promise.all(Array.from({ length: workers }, () => new Promise((resolve) => {
  const t = new Worker(threadCode, { eval: true, workerData: { langPath } }); t.once("message", () => resolve(t))
})))
const waiting = new Map(), queue = [], idle = [...threads]
let nextId = 0
const pump = () => { while (idle.length && queue.length) idle.pop().postMessage(queue.shift()) }
for (const t of threads) t.on("message", ({ id }) => { waiting.get(id)(); waiting.delete(id); idle.push(t); pump() })
const viaThreads = () => new Promise((resolve) => { const id = nextId++; waiting.set(id, resolve); queue.push({ id, image: new Uint8Array(image) }); pump() })

const { daemon, base } = await startDaemon({ INFERD_WORKERS: String(workers), INFERD_CANARY_INTERVAL: "1 hour" })

const cpu = { scheduler: [], threads: [], inferdHttp: [] }
const round = (name, one) => async () => {
  let next = 0
  const c0 = cpuMs(process.pid) + cpuMs(daemon.pid), t0 = performance.now()
  await Promise.all(Array.from({ length: inflight }, async () => { while (next++ < pages) await one() }))
  cpu[name].push((cpuMs(process.pid) + cpuMs(daemon.pid) - c0) / pages)
  return pages / ((performance.now() - t0) / 1000)
}
const competitors = {
  scheduler: round("scheduler", () => scheduler.addJob("recognize", image, {}, { text: true, tsv: true })),
  threads: round("threads", viaThreads),
  inferdHttp: round("inferdHttp", () => request(base + "/v1/ocr", { body: image, type: "image/png" }))
}
for (const run of Object.values(competitors)) await run()
for (const list of Object.values(cpu)) list.length = 0
const rates = await interleave(rounds, competitors)
console.log(`\n## OCR overhead, ${workers} workers, ${pages} pages per round, ${rounds} rounds\n| | pages/s | CPU ms per page, all threads |\n|---|---|---|`)
for (const name of Object.keys(competitors)) console.log(`| ${name} | ${fmt(spread(rates[name]), 2)} | ${fmt(spread(cpu[name]), 0)} |`)
await scheduler.terminate()
await Promise.all(threads.map((t) => t.terminate()))
daemon.kill("SIGTERM")
