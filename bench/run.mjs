#!/usr/bin/env node
// `npm run bench`: every benchmark in turn, each printing its table; all results land in bench/results.json.
// Speed targets live here, never in tests. BENCH_QUICK=1 runs fewer rounds; INFERD_NODE=/path/to/node runs them
// on that Node (README: "Another Node"); BENCH_RESULTS=file writes the results there instead.
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { benchNode, resultsFile, root } from "./lib.mjs"

const quick = process.env.BENCH_QUICK === "1"
const steps = [
  ["dispatch.mjs", quick ? ["--rounds", "2", "--seq", "1000", "--burst", "2000"] : ["--rounds", "3"]],
  ["ocr.mjs", quick ? ["--pages", "6", "--rounds", "2"] : ["--rounds", "5"]],
  ["pdf.mjs", quick ? ["--pages", "6", "--rounds", "2"] : ["--rounds", "4"]],
  ["onnx.mjs", quick ? ["--rounds", "2"] : ["--rounds", "3"]],
  ["faces-cost.mjs", ["--runs", quick ? "3" : "9"]],
  ["status-latency.mjs", ["--seconds", quick ? "8" : "20"]],
  ["cpu-quota.mjs", ["--seconds", quick ? "8" : "20"]],
  ["lifecycle.mjs", ["--rounds", quick ? "1" : "3"]],
  ["jobs.mjs", quick ? ["--jobs", "20", "--burst", "200"] : ["--jobs", "40", "--burst", "400"]],
  ["cluster.mjs", quick ? ["--rounds", "1"] : ["--rounds", "3"]]
]
const version = execFileSync(benchNode, ["--version"], { encoding: "utf8" }).trim()
console.log(`# Node ${version} (${benchNode})`)
const started = Date.now()
for (const [script, args] of steps) {
  if (args === null || !existsSync(`${root}/bench/${script}`)) continue
  console.log(`\n# ${script}`)
  const run = spawnSync(benchNode, [`${root}/bench/${script}`, ...args], { stdio: "inherit", cwd: root })
  if (run.status !== 0) console.log(`(${script} exited ${run.status})`)
}
const results = JSON.parse(readFileSync(resultsFile, "utf8"))
console.log(`\n# Summary (Node ${version}, ${((Date.now() - started) / 1000).toFixed(0)} s)`)
const line = (what, value, target) => console.log(`- ${what}: ${value}${target ? ` (target ${target})` : ""}`)
if (results.dispatch1) line("dispatch, WorkerPool / piscina tasks/s", results.dispatch1.ratios.inferdVsPiscina.toFixed(2), ">= 1.0")
if (results.ocr) line("OCR via HTTP / tesseract.js scheduler", results.ocr.ratios.httpVsScheduler.toFixed(2), ">= 0.95")
if (results.pdf) line("PDF pages via HTTP / same renderer + tesseract.js scheduler", results.pdf.ratios.httpVsRendererScheduler.toFixed(2), ">= 0.95")
if (results.pdf) line("born-digital 50-page PDF from its text layer, ms", results.pdf.textLayer50Ms.median.toFixed(0), "< 2000")
if (results.onnx) for (const [k, v] of Object.entries(results.onnx.ratios ?? {})) line(`${k} via HTTP / one all-cores onnxruntime session`, v.toFixed(2), ">= 1.0")
if (results.facesCost) line("face detection + embedding on one thread, ms CPU per face", results.facesCost.total.perFaceCpu.toFixed(1))
if (results.statusLatency) line("/status p99 idle → busy, ms", `${results.statusLatency.idle.p99.toFixed(1)} → ${results.statusLatency.busy.p99.toFixed(1)}`, "busy <= 10, <= idle + 5")
if (results.statusLatency?.busy.loopDelayMs) line("daemon event-loop delay p99 idle → busy, ms (10 ms resolution)", `${results.statusLatency.idle.loopDelayMs.p99.toFixed(1)} → ${results.statusLatency.busy.loopDelayMs.p99.toFixed(1)}`)
if (results.cpuQuota) for (const r of results.cpuQuota.results) line(`/status p99 busy under a ${r.quota} CPU quota (pool ${r.pool}), ms`, r.busy.p99.toFixed(1))
if (results.jobs) line("async job enqueue → start p50, ms (old SQLite store before @effect/cluster)", `${results.jobs.latencyMs.p50}${results.jobsOldStore ? ` (old ${results.jobsOldStore.latencyMs.p50})` : ""}`, "<= 50")
if (results.jobs?.throughput) line("trivial jobs/s through the embedded engine", results.jobs.throughput.perSecond.toFixed(0), ">= 200")
if (results.cluster) line("OCR pages/s, three runners / one daemon with the same workers", results.cluster.ratios.threeVsOne.toFixed(2), ">= 0.90")
if (results.lifecycle) line("ready after start, ms / stop idle, ms", `${results.lifecycle.readyMs.median.toFixed(0)} / ${results.lifecycle.stopIdleMs.median.toFixed(0)}`, "<= 3000 / <= 1000")
