#!/usr/bin/env node
// Dispatch overhead and payload transfer: inferd's WorkerPool vs piscina vs raw worker_threads, same thread count.
// usage: node bench/dispatch.mjs [--threads 1] [--rounds 3] [--seq 2000] [--burst 20000] [--inflight 256]
import { Effect, Exit, Scope, Duration } from "effect"
import Piscina from "piscina"
import { Worker } from "node:worker_threads"
import { fmt, interleave, pct, root, save, spread } from "./lib.mjs"
import * as WorkerPool from "../dist/Pool/WorkerPool.js"
import * as WorkerSettings from "../dist/Pool/WorkerSettings.js"
import * as Tasks from "../dist/Pool/Tasks.js"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? Number(process.argv[i + 1]) : d }
const threads = arg("threads", 1), rounds = arg("rounds", 3), seqN = arg("seq", 2000), burstN = arg("burst", 20000), inflight = arg("inflight", 256)
const echoUrl = new URL("./echo-worker.mjs", import.meta.url)

// --- inferd
const scope = Effect.runSync(Scope.make())
const pool = await Effect.runPromise(WorkerPool.make({
  size: threads, maxQueue: 1_000_000, taskTimeout: Duration.minutes(5), shutdownGrace: Duration.seconds(5),
  startTimeout: Duration.seconds(60), workerHeapMb: 512,
  // The daemon nices its workers (INFERD_WORKER_NICE=10) to favour its event loop; here they run at the
  // peers' priority, so the comparison is of dispatch alone.
  settings: WorkerSettings.forTests({ niceness: 0 })
}).pipe(Scope.extend(scope)))
while ((await Effect.runPromise(pool.stats)).ready < threads) await new Promise((r) => setTimeout(r, 50))
const inferd = (n, data) => Effect.runPromise(pool.submit(Tasks.echo(n, data)))

// --- piscina
const piscina = new Piscina({ filename: echoUrl.href, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 })
const piscinaRun = (n, data) => data ? piscina.run({ n, data }, { transferList: [data.buffer] }) : piscina.run({ n })

// --- raw worker_threads, round-robin, one promise per message id
const raws = Array.from({ length: threads }, () => new Worker(echoUrl, { env: { ...process.env, RAW_ECHO: "1" } }))
const pending = new Map(); let nextId = 0, turn = 0
for (const w of raws) w.on("message", (m) => { pending.get(m.id)(m); pending.delete(m.id) })
const raw = (n, data) => new Promise((resolve) => {
  const id = nextId++; pending.set(id, resolve)
  raws[turn++ % raws.length].postMessage({ id, n, data }, data ? [data.buffer] : [])
})

const sequential = async (run) => {
  const lat = []
  for (let i = 0; i < seqN; i++) { const t = performance.now(); await run(i); lat.push((performance.now() - t) * 1000) }
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99) }
}
const burst = async (run) => {
  let next = 0
  const t = performance.now()
  await Promise.all(Array.from({ length: inflight }, async () => { while (next < burstN) await run(next++) }))
  return burstN / ((performance.now() - t) / 1000)
}
const transfer = (size) => async (run) => {
  const lat = []
  for (let i = 0; i < 15; i++) {
    const data = new Uint8Array(size); data[0] = 1
    const t = performance.now(); const r = await run(i, data); lat.push(performance.now() - t)
    if (r.bytes !== size) throw new Error(`payload lost: ${r.bytes}`)
  }
  return pct(lat, 0.5)
}

const competitors = { inferd, piscina: piscinaRun, raw }
for (const run of Object.values(competitors)) { await sequential(run); await burst(run) } // warm-up

const measure = async (label, probe) =>
  Object.fromEntries(Object.entries(await interleave(rounds, Object.fromEntries(Object.entries(competitors).map(([k, run]) => [k, () => probe(run)])))).map(([k, v]) => [k, v]))

const seq = await measure("seq", sequential)
const tput = await measure("burst", burst)
const t1 = await measure("1MB", transfer(1 << 20))
const t8 = await measure("8MB", transfer(8 << 20))

const result = {}
for (const name of Object.keys(competitors)) {
  result[name] = {
    seqP50us: spread(seq[name].map((r) => r.p50)), seqP99us: spread(seq[name].map((r) => r.p99)),
    burstTasksPerSec: spread(tput[name]), transfer1MBms: spread(t1[name]), transfer8MBms: spread(t8[name])
  }
}
const ratio = (a, b) => result[a].burstTasksPerSec.median / result[b].burstTasksPerSec.median
console.log(`\n## Dispatch, ${threads} thread(s), all at nice 0: median [min–max] over ${rounds} interleaved rounds`)
console.log(`| | seq p50 µs | seq p99 µs | burst tasks/s (${inflight} in flight) | 1 MB in, ms | 8 MB in, ms |\n|---|---|---|---|---|---|`)
for (const [name, r] of Object.entries(result)) {
  console.log(`| ${name} | ${fmt(r.seqP50us)} | ${fmt(r.seqP99us)} | ${fmt(r.burstTasksPerSec, 0)} | ${fmt(r.transfer1MBms, 2)} | ${fmt(r.transfer8MBms, 2)} |`)
}
console.log(`inferd/piscina burst ratio ${ratio("inferd", "piscina").toFixed(2)}, inferd/raw ${ratio("inferd", "raw").toFixed(2)}`)
save(`dispatch${threads}`, { threads, rounds, seqN, burstN, inflight, ...result, ratios: { inferdVsPiscina: ratio("inferd", "piscina"), inferdVsRaw: ratio("inferd", "raw") } })

await piscina.destroy()
await Promise.all(raws.map((w) => w.terminate()))
await Effect.runPromise(Scope.close(scope, Exit.void))
