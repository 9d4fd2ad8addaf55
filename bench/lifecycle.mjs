#!/usr/bin/env node
// Cold start to ready, stop after SIGTERM (idle and busy), and memory: the daemon's RSS with its workers up.
// usage: node bench/lifecycle.mjs [--rounds 3]
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fmt, freePort, reaped, root, save, sleep, spread } from "./lib.mjs"

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] || 3)
const image = readFileSync(join(root, "test/fixtures/images/testocr.png"))
const rssMiB = (pid) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]) / 1024

const once = async (busy, workers) => {
  const port = await freePort(), base = `http://127.0.0.1:${port}`
  const t0 = performance.now()
  const child = reaped(spawn(process.execPath, [join(root, "bin/inferd.js"), "serve"], {
    env: { ...process.env, PORT: String(port), INFERD_WORKERS: String(workers), INFERD_INBOX: mkdtempSync(join(tmpdir(), "inferd-bench-")) },
    stdio: "ignore"
  }))
  const exit = new Promise((r) => child.once("exit", (code) => r(code)))
  while (!(await fetch(base + "/health/ready").then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`the daemon exited ${child.exitCode} before it was ready`)
    await sleep(20)
  }
  const readyMs = performance.now() - t0
  // One page per worker so the engines are loaded, then memory.
  await Promise.all(Array.from({ length: workers }, () => fetch(base + "/v1/ocr", { method: "POST", body: image, headers: { "content-type": "image/png" } }).then((r) => r.arrayBuffer())))
  const rss = rssMiB(child.pid)
  const load = busy ? Array.from({ length: workers * 2 }, () => fetch(base + "/v1/ocr", { method: "POST", body: image, headers: { "content-type": "image/png" } }).catch(() => null)) : []
  if (busy) await sleep(150)
  const t1 = performance.now()
  child.kill("SIGTERM")
  const code = await exit
  const stopMs = performance.now() - t1
  await Promise.all(load)
  return { readyMs, stopMs, rss, code }
}

const results = { readyMs: [], stopIdleMs: [], stopBusyMs: [], rss1: [], rss2: [], codes: [] }
for (let r = 0; r < rounds; r++) {
  const idle = await once(false, 1)
  const busy = await once(true, 1)
  const two = await once(false, 2)
  results.readyMs.push(idle.readyMs, busy.readyMs); results.stopIdleMs.push(idle.stopMs); results.stopBusyMs.push(busy.stopMs)
  results.rss1.push(idle.rss); results.rss2.push(two.rss); results.codes.push(idle.code, busy.code, two.code)
}
const s = Object.fromEntries(Object.entries(results).filter(([k]) => k !== "codes").map(([k, v]) => [k, spread(v)]))
console.log(`\n## Lifecycle, median [min–max] over ${rounds} rounds`)
console.log(`| start → /health/ready ms | stop after SIGTERM, idle ms | stop, busy ms | RSS, 1 worker MiB | RSS, 2 workers MiB | per extra worker MiB |\n|---|---|---|---|---|---|`)
console.log(`| ${fmt(s.readyMs, 0)} | ${fmt(s.stopIdleMs, 0)} | ${fmt(s.stopBusyMs, 0)} | ${fmt(s.rss1, 0)} | ${fmt(s.rss2, 0)} | ${(s.rss2.median - s.rss1.median).toFixed(0)} |`)
console.log(`exit codes: ${results.codes.join(" ")}`)
save("lifecycle", { rounds, ...s, perWorkerMiB: s.rss2.median - s.rss1.median, exitCodes: results.codes })
