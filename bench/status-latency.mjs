#!/usr/bin/env node
// /status latency while every worker runs OCR flat out, against the built daemon started as a user would.
// usage: node bench/status-latency.mjs [--seconds 20] [--image test/fixtures/images/testocr.png] [--workers N]
// Prints a table and writes bench/results.json (key "statusLatency").
import { spawn } from "node:child_process"
import { readFileSync, writeFileSync, existsSync, mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const root = new URL("..", import.meta.url).pathname
const seconds = Number(arg("seconds", 20))
const image = readFileSync(join(root, arg("image", "test/fixtures/images/testocr.png")))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pct = (xs, p) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
const port = await new Promise((res) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)) }) })
const base = `http://127.0.0.1:${port}`

const env = { ...process.env, PORT: String(port), INFERD_INBOX: mkdtempSync(join(tmpdir(), "inferd-bench-")) }
if (arg("workers")) env.INFERD_WORKERS = arg("workers")
const daemon = spawn(process.execPath, [join(root, "bin/inferd.js"), "serve"], { env, stdio: "ignore" })
try {
  const t0 = Date.now()
  while (!(await fetch(base + "/health/ready").then((r) => r.ok, () => false))) await sleep(100)
  const readyMs = Date.now() - t0
  const status = await (await fetch(base + "/status")).json()
  const probe = async (ms) => {
    const lat = [], end = performance.now() + ms
    while (performance.now() < end) {
      const t = performance.now(); await (await fetch(base + "/status")).arrayBuffer(); lat.push(performance.now() - t)
      await sleep(10)
    }
    return lat
  }
  for (let i = 0; i < 20; i++) await (await fetch(base + "/status")).arrayBuffer()
  const idle = await probe(5000)
  let done = 0, errors = 0, stop = false
  const load = async () => {
    while (!stop) {
      const r = await fetch(base + "/v1/ocr", { method: "POST", body: image, headers: { "content-type": "image/png" } })
      await r.arrayBuffer(); r.ok ? done++ : errors++
    }
  }
  const concurrency = status.pool.size * 3
  const loaders = Array.from({ length: concurrency }, load)
  await sleep(2000)
  const d0 = done, l0 = performance.now()
  const busy = await probe(seconds * 1000)
  const rate = (done - d0) / ((performance.now() - l0) / 1000)
  stop = true; await Promise.all(loaders)
  const result = {
    at: new Date().toISOString(), pool: status.pool.size, cpus: status.cpu.cpus, readyMs, concurrency,
    idle: { p50: pct(idle, 0.5), p99: pct(idle, 0.99), n: idle.length },
    busy: { p50: pct(busy, 0.5), p99: pct(busy, 0.99), max: Math.max(...busy), n: busy.length },
    ocrPerSecond: rate, errors
  }
  const f = (x) => x.toFixed(2)
  console.log(`| /status | p50 ms | p99 ms | max ms | probes |\n|---|---|---|---|---|`)
  console.log(`| idle | ${f(result.idle.p50)} | ${f(result.idle.p99)} | | ${idle.length} |`)
  console.log(`| every worker busy (${concurrency} OCR clients, ${f(rate)} pages/s) | ${f(result.busy.p50)} | ${f(result.busy.p99)} | ${f(result.busy.max)} | ${busy.length} |`)
  console.log(`pool ${result.pool} workers on ${result.cpus} cpus, ready in ${readyMs} ms, ${errors} errors`)
  const file = join(root, "bench/results.json")
  const all = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {}
  writeFileSync(file, JSON.stringify({ ...all, statusLatency: result }, null, 2) + "\n")
} finally {
  daemon.kill("SIGTERM")
}
