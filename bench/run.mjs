#!/usr/bin/env node
// `npm run bench`: every benchmark in turn, each printing its table; all results land in bench/results.json.
// Speed targets live here, never in tests. BENCH_QUICK=1 runs fewer rounds.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { root } from "./lib.mjs"

const quick = process.env.BENCH_QUICK === "1"
const steps = [
  ["dispatch.mjs", quick ? ["--rounds", "2", "--seq", "1000", "--burst", "2000"] : ["--rounds", "3"]],
  ["ocr.mjs", quick ? ["--pages", "6", "--rounds", "2"] : ["--rounds", "5"]],
  ["onnx.mjs", quick ? ["--rounds", "2"] : ["--rounds", "3"]],
  ["status-latency.mjs", ["--seconds", quick ? "8" : "20"]],
  ["cpu-quota.mjs", ["--seconds", quick ? "8" : "20"]],
  ["lifecycle.mjs", ["--rounds", quick ? "1" : "3"]]
]
const started = Date.now()
for (const [script, args] of steps) {
  if (args === null || !existsSync(`${root}/bench/${script}`)) continue
  console.log(`\n# ${script}`)
  const run = spawnSync(process.execPath, [`${root}/bench/${script}`, ...args], { stdio: "inherit", cwd: root })
  if (run.status !== 0) console.log(`(${script} exited ${run.status})`)
}
const results = JSON.parse(readFileSync(`${root}/bench/results.json`, "utf8"))
console.log(`\n# Summary (${((Date.now() - started) / 1000).toFixed(0)} s)`)
const line = (what, value, target) => console.log(`- ${what}: ${value}${target ? ` (target ${target})` : ""}`)
if (results.dispatch1) line("dispatch, WorkerPool / piscina tasks/s", results.dispatch1.ratios.inferdVsPiscina.toFixed(2), ">= 1.0")
if (results.ocr) line("OCR via HTTP / tesseract.js scheduler", results.ocr.ratios.httpVsScheduler.toFixed(2), ">= 0.95")
if (results.onnx) for (const [k, v] of Object.entries(results.onnx.ratios ?? {})) line(`${k} via HTTP / one all-cores onnxruntime session`, v.toFixed(2), ">= 1.0")
if (results.statusLatency) line("/status p99 idle → busy, ms", `${results.statusLatency.idle.p99.toFixed(1)} → ${results.statusLatency.busy.p99.toFixed(1)}`, "busy <= 10, <= idle + 5")
if (results.statusLatency?.busy.loopDelayMs) line("daemon event-loop delay p99 idle → busy, ms (10 ms resolution)", `${results.statusLatency.idle.loopDelayMs.p99.toFixed(1)} → ${results.statusLatency.busy.loopDelayMs.p99.toFixed(1)}`)
if (results.cpuQuota) for (const r of results.cpuQuota.results) line(`/status p99 busy under a ${r.quota} CPU quota (pool ${r.pool}), ms`, r.busy.p99.toFixed(1))
if (results.lifecycle) line("ready after start, ms / stop idle, ms", `${results.lifecycle.readyMs.median.toFixed(0)} / ${results.lifecycle.stopIdleMs.median.toFixed(0)}`, "<= 3000 / <= 1000")
