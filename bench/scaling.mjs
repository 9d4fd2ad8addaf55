#!/usr/bin/env node
// Scaling beyond 2 cores: OCR pages/s and dispatch tasks/s at pool sizes 1, 2, 4, 8, 15 (or --sizes), inferd
// against the same peers as ocr.mjs and dispatch.mjs, and each one's parallel efficiency against its size 1.
// Writes the `scaling` entry of bench/results.json and the table in bench/SCALING.md.
// usage: node bench/scaling.mjs [--sizes 1,2,4,8,15] [--rounds 2] [--pages-per-worker 4]
// On the 16-core device machine: bench/device-scaling.sh (see there).
import { spawnSync } from "node:child_process"
import { availableParallelism, cpus } from "node:os"
import { readFileSync, writeFileSync } from "node:fs"
import { benchNode, resultsFile, root, save } from "./lib.mjs"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const sizes = arg("sizes", "1,2,4,8,15").split(",").map(Number).filter((n) => n <= Math.max(1, availableParallelism() - 1) || arg("sizes"))
const rounds = arg("rounds", "2"), perWorker = Number(arg("pages-per-worker", 4))

const run = (script, args) => {
  const child = spawnSync(benchNode, [`${root}/bench/${script}`, ...args], { stdio: "inherit", cwd: root })
  if (child.status !== 0) throw new Error(`${script} ${args.join(" ")} exited ${child.status}`)
  return JSON.parse(readFileSync(resultsFile, "utf8"))
}

const rows = []
for (const n of sizes) {
  const ocr = run("ocr.mjs", ["--workers", String(n), "--pages", String(perWorker * n), "--rounds", rounds]).ocr
  const dispatch = run("dispatch.mjs", ["--threads", String(n), "--rounds", rounds, "--seq", "500", "--burst", "5000"])[`dispatch${n}`]
  rows.push({
    size: n,
    ocrHttp: ocr.inferdHttp.median, ocrScheduler: ocr.tesseractScheduler.median, ocrNative: ocr.nativeCli?.median ?? null,
    dispatchInferd: dispatch.inferd.burstTasksPerSec.median, dispatchPiscina: dispatch.piscina.burstTasksPerSec.median
  })
}
const eff = (key) => (row) => rows[0][key] ? row[key] / (rows[0][key] * row.size / rows[0].size) : null
const table = rows.map((row) => ({ ...row, ocrHttpEff: eff("ocrHttp")(row), ocrSchedulerEff: eff("ocrScheduler")(row) }))
const env = { node: process.version, cpu: cpus()[0]?.model, availableParallelism: availableParallelism(), at: new Date().toISOString() }
save("scaling", { env, rows: table })

const f = (x, d = 2) => x === null || x === undefined ? "–" : x.toFixed(d)
const md = [
  "# Scaling", "",
  `Measured by \`node bench/scaling.mjs\` on ${env.cpu} (${env.availableParallelism} CPUs), Node ${env.node}, ${env.at}.`,
  "OCR: pages/s at saturation, inferd over HTTP against tesseract.js's scheduler with the same workers (and the native",
  "CLI when installed); efficiency is pages/s per worker against size 1. Dispatch: trivial tasks/s, 256 in flight.", "",
  "| workers | OCR inferd HTTP | eff | OCR tesseract.js scheduler | eff | OCR native CLI | dispatch inferd | dispatch piscina |",
  "|---|---|---|---|---|---|---|---|",
  ...table.map((r) => `| ${r.size} | ${f(r.ocrHttp)} | ${f(r.ocrHttpEff)} | ${f(r.ocrScheduler)} | ${f(r.ocrSchedulerEff)} | ${f(r.ocrNative)} | ${f(r.dispatchInferd, 0)} | ${f(r.dispatchPiscina, 0)} |`),
  ""
].join("\n")
writeFileSync(`${root}/bench/SCALING.md`, md)
console.log("\n" + md)
