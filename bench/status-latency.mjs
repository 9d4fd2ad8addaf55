#!/usr/bin/env node
// /status latency and the daemon's event-loop delay while every worker runs OCR flat out, against the built
// daemon started as a user would; the load comes from bench/load.mjs in a process of its own. Each probe of
// /status is paired with one of a bare node:http server in a process of its own (the floor: what this machine
// gives any Node server, under the same load), and both use a lean keep-alive client (lib.mjs `request`).
// usage: node bench/status-latency.mjs [--seconds 20] [--image test/fixtures/images/testocr.png] [--workers N]
// Prints a table and writes bench/results.json (key "statusLatency").
import { spawn } from "node:child_process"
import { join } from "node:path"
import { freePort, pct, reaped, request, root, save, sleep, startDaemon } from "./lib.mjs"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const seconds = Number(arg("seconds", 20))

// The floor: a bare server answering a body of /status's size.
const floorPort = await freePort(), floorBase = `http://127.0.0.1:${floorPort}`
const floor = reaped(spawn(process.execPath, ["-e", `require("node:http").createServer((q, s) => { s.setHeader("content-type", "application/json"); s.end(JSON.stringify({ pad: "x".repeat(1500) })) }).listen(${floorPort}, "127.0.0.1")`], { stdio: "ignore" }))
const { daemon, base, readyMs } = await startDaemon(arg("workers") ? { INFERD_WORKERS: arg("workers") } : {})
try {
  const status = await (await fetch(base + "/status")).json()
  const timed = async (url) => { const t = performance.now(); await request(url); return performance.now() - t }
  /** /status and the floor, alternately, every 10 ms */
  const probe = async (ms) => {
    const lat = [], bare = [], end = performance.now() + ms
    while (performance.now() < end) {
      lat.push(await timed(base + "/status"))
      await sleep(5)
      bare.push(await timed(floorBase + "/"))
      await sleep(5)
    }
    return { lat, bare }
  }
  // The daemon's own event-loop delay over a window (prom-client's monitorEventLoopDelay, reset at each scrape).
  const loopDelay = async () => {
    const text = await (await fetch(base + "/metrics")).text()
    const value = (name) => Number(text.match(new RegExp(`^${name} ([0-9.e+-]+)`, "m"))?.[1] ?? NaN) * 1000
    return { p50: value("nodejs_eventloop_lag_p50_seconds"), p99: value("nodejs_eventloop_lag_p99_seconds"), max: value("nodejs_eventloop_lag_max_seconds") }
  }
  for (let i = 0; i < 20; i++) { await request(base + "/status"); await request(floorBase + "/") }
  await loopDelay()
  const { lat: idle, bare: idleFloor } = await probe(5000)
  const idleLoop = await loopDelay()
  // The load runs in a process of its own: sharing the probe's event loop, its uploads would delay the probe.
  const concurrency = status.pool.size * 3
  const load = spawn(process.execPath, [join(root, "bench/load.mjs"), "--url", base, "--file", join(root, arg("image", "test/fixtures/images/testocr.png")),
    "--concurrency", String(concurrency), "--seconds", String(seconds + 3)], { stdio: ["ignore", "pipe", "inherit"] })
  let report = ""
  load.stdout.on("data", (d) => { report += d })
  const loaded = new Promise((r) => load.once("exit", r))
  await sleep(2000)
  await loopDelay()
  const { lat: busy, bare: busyFloor } = await probe(seconds * 1000)
  const busyLoop = await loopDelay()
  await loaded
  const { perSecond: rate, errors } = JSON.parse(report)
  const result = {
    at: new Date().toISOString(), pool: status.pool.size, cpus: status.cpu.cpus, readyMs, concurrency,
    idle: { p50: pct(idle, 0.5), p99: pct(idle, 0.99), n: idle.length, loopDelayMs: idleLoop },
    busy: { p50: pct(busy, 0.5), p99: pct(busy, 0.99), max: Math.max(...busy), n: busy.length, loopDelayMs: busyLoop },
    bareNodeFloor: { idle: { p50: pct(idleFloor, 0.5), p99: pct(idleFloor, 0.99) }, busy: { p50: pct(busyFloor, 0.5), p99: pct(busyFloor, 0.99), max: Math.max(...busyFloor) } },
    ocrPerSecond: rate, errors
  }
  const f = (x) => x.toFixed(2)
  const fl = result.bareNodeFloor
  console.log(`| | /status p50 ms | /status p99 ms | /status max ms | bare node:http p50 / p99 ms | probes |\n|---|---|---|---|---|---|`)
  console.log(`| idle | ${f(result.idle.p50)} | ${f(result.idle.p99)} | | ${f(fl.idle.p50)} / ${f(fl.idle.p99)} | ${idle.length} |`)
  console.log(`| every worker busy (${concurrency} OCR clients, ${f(rate)} pages/s) | ${f(result.busy.p50)} | ${f(result.busy.p99)} | ${f(result.busy.max)} | ${f(fl.busy.p50)} / ${f(fl.busy.p99)} | ${busy.length} |`)
  console.log(`pool ${result.pool} workers on ${result.cpus} cpus, ready in ${readyMs} ms, ${errors} errors; load from a separate process`)
  const loop = (l) => `p50 ${f(l.p50)} / p99 ${f(l.p99)} / max ${f(l.max)} ms`
  console.log(`daemon event-loop delay (monitorEventLoopDelay, 10 ms resolution, so 10 ms means none): idle ${loop(idleLoop)}; busy ${loop(busyLoop)}`)
  save("statusLatency", result)
} finally {
  daemon.kill("SIGTERM")
  floor.kill()
}
