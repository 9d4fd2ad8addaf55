#!/usr/bin/env node
// The built daemon inside a child cgroup with a real CFS quota (cgroup v1 cpu.cfs_quota_us, else v2 cpu.max):
// what it sizes its pool to, and /status latency idle and while OCR saturates the quota, the load coming from
// a process outside the group. Needs root and a hierarchy with the cpu controller; says why not otherwise.
// usage: node bench/cpu-quota.mjs [--quotas 1.5,0.5] [--seconds 20]
// Prints a table and writes bench/results.json (key "cpuQuota").
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, pct, reaped, request, root, save, sleep } from "./lib.mjs"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const quotas = arg("quotas", "1.5,0.5").split(",").map(Number), seconds = Number(arg("seconds", 20))

/** This process's own group in the v1 cpu hierarchy or the v2 one, where a child group can take a quota. */
const parentGroup = () => {
  if (process.getuid?.() !== 0) return { reason: "not root" }
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean).map((l) => {
    const f = l.split(" "), dash = f.indexOf("-")
    return { root: f[3], point: f[4], type: f[dash + 1], options: (f[dash + 3] ?? "").split(",") }
  })
  const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").filter(Boolean).map((l) => l.split(":"))
  const v1 = mounts.find((m) => m.type === "cgroup" && m.options.includes("cpu"))
  const v1Path = own.find(([, controllers]) => controllers.split(",").includes("cpu"))?.[2]
  if (v1 && v1Path !== undefined) return { version: "v1", dir: join(v1.point, v1Path.slice(v1.root.length)) }
  const v2 = mounts.find((m) => m.type === "cgroup2")
  const v2Path = own.find(([id]) => id === "0")?.[2]
  if (v2 && v2Path !== undefined) {
    const dir = join(v2.point, v2Path.slice(v2.root.length))
    if (readFileSync(join(dir, "cgroup.controllers"), "utf8").split(" ").map((s) => s.trim()).includes("cpu")) {
      writeFileSync(join(dir, "cgroup.subtree_control"), "+cpu")
      return { version: "v2", dir }
    }
  }
  return { reason: "no cgroup hierarchy offers the cpu controller to this process" }
}

const parent = parentGroup()
if (parent.reason) {
  console.log(`cpu-quota: skipped: ${parent.reason}`)
  process.exit(0)
}

const run = async (cpus) => {
  const dir = join(parent.dir, `inferd-bench-${process.pid}-${cpus}`)
  mkdirSync(dir)
  const quotaUs = Math.round(cpus * 100_000)
  if (parent.version === "v1") writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quotaUs))
  else writeFileSync(join(dir, "cpu.max"), `${quotaUs} 100000`)
  const throttled = () => Number(/nr_throttled (\d+)/.exec(readFileSync(join(dir, "cpu.stat"), "utf8"))?.[1])
  const port = await freePort(), base = `http://127.0.0.1:${port}`
  const daemon = reaped(spawn("sh", ["-c", `echo $$ > '${join(dir, "cgroup.procs")}' && exec "$@"`, "sh", process.execPath, join(root, "bin/inferd.js"), "serve"], {
    env: { ...process.env, PORT: String(port), INFERD_INBOX: mkdtempSync(join(tmpdir(), "inferd-bench-")), INFERD_CANARY_INTERVAL: "1 hour" },
    stdio: "ignore"
  }))
  try {
    while (!(await fetch(base + "/health/ready").then((r) => r.ok, () => false))) await sleep(100)
    const status = await (await fetch(base + "/status")).json()
    const probe = async (ms) => {
      const lat = [], end = performance.now() + ms
      while (performance.now() < end) {
        const t = performance.now(); await request(base + "/status"); lat.push(performance.now() - t)
        await sleep(10)
      }
      return lat
    }
    for (let i = 0; i < 20; i++) await request(base + "/status")
    const idle = await probe(5000)
    const concurrency = status.pool.size * 3
    const load = spawn(process.execPath, [join(root, "bench/load.mjs"), "--url", base, "--file", join(root, "test/fixtures/images/testocr.png"),
      "--concurrency", String(concurrency), "--seconds", String(seconds + 3)], { stdio: ["ignore", "pipe", "inherit"] })
    let report = ""
    load.stdout.on("data", (d) => { report += d })
    const loaded = new Promise((r) => load.once("exit", r))
    await sleep(2000)
    const before = throttled()
    const busy = await probe(seconds * 1000)
    const periods = throttled() - before
    await loaded
    const { perSecond } = JSON.parse(report)
    return {
      quota: cpus, cpus: status.cpu.cpus, reportedQuota: status.cpu.quota, pool: status.pool.size,
      idle: { p50: pct(idle, 0.5), p99: pct(idle, 0.99) },
      busy: { p50: pct(busy, 0.5), p99: pct(busy, 0.99), max: Math.max(...busy), n: busy.length },
      ocrPerSecond: perSecond, throttledPeriodsPerSecond: periods / seconds
    }
  } finally {
    daemon.kill("SIGTERM")
    await new Promise((r) => daemon.exitCode !== null ? r() : daemon.once("exit", r))
    for (let i = 0; existsSync(dir); i++) {
      try { rmdirSync(dir) } catch (error) { if (i > 50) throw error; await sleep(100) }
    }
  }
}

const results = []
for (const quota of quotas) results.push(await run(quota))
const f = (x) => x.toFixed(1)
console.log(`\n## /status under a CPU quota (cgroup ${parent.version}), OCR saturating it for ${seconds} s`)
console.log("| quota | /status cpus, quota | pool | /status p50 / p99 ms idle | busy p50 / p99 / max ms | OCR pages/s | throttled periods/s |\n|---|---|---|---|---|---|---|")
for (const r of results) {
  console.log(`| ${r.quota} | ${r.cpus}, ${r.reportedQuota} | ${r.pool} | ${f(r.idle.p50)} / ${f(r.idle.p99)} | ${f(r.busy.p50)} / ${f(r.busy.p99)} / ${f(r.busy.max)} | ${r.ocrPerSecond.toFixed(2)} | ${f(r.throttledPeriodsPerSecond)} |`)
}
save("cpuQuota", { version: parent.version, seconds, results })
