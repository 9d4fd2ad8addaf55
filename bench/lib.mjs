// Shared helpers for the benchmarks: statistics, result files, interleaved rounds.
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import http from "node:http"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("..", import.meta.url))
/**
 * The Node that `npm run bench` runs each benchmark on: INFERD_NODE when set (its daemons and workers run on it
 * too, since they start from `process.execPath`), else this one. Its node_modules must be built for it.
 */
export const benchNode = process.env.INFERD_NODE || process.execPath
/** Where results land: BENCH_RESULTS, else bench/results.json (one file per Node when comparing Nodes). */
export const resultsFile = process.env.BENCH_RESULTS || `${root}/bench/results.json`
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
export const pct = (xs, p) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
export const median = (xs) => pct(xs, 0.5)
/** median [min–max] of a list of per-round numbers */
export const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs.length })
export const fmt = (s, digits = 1) => `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`

export const save = (key, value) => {
  const all = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : {}
  all[key] = { at: new Date().toISOString(), node: process.version, ...value }
  writeFileSync(resultsFile, JSON.stringify(all, null, 2) + "\n")
}

/** Runs every competitor once per round, in a rotating order, so slow minutes hit them all alike. */
export const interleave = async (rounds, competitors) => {
  const results = Object.fromEntries(Object.keys(competitors).map((k) => [k, []]))
  const names = Object.keys(competitors)
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length])
    for (const name of order) results[name].push(await competitors[name]())
  }
  return results
}

/**
 * A lean HTTP client, node:http on kept-alive sockets, for every request a benchmark times or loads with. Its
 * CPU lands on the cores the daemon is measured on: undici's fetch cost 3.4–4.2 ms of CPU per OCR upload
 * here against 1.5–2.1 ms for this, and added 1–2 ms to an idle /status p99 (prof: interleaved runs).
 */
// Idle sockets close after 2 s, before the server's 5 s keep-alive timeout can close one under a new request.
const agent = new http.Agent({ keepAlive: true, timeout: 2000 })
export const request = (url, { method = "GET", body, type } = {}, retried = false) => new Promise((resolve, reject) => {
  const headers = body === undefined ? {} : { "content-type": type, "content-length": body.length }
  const req = http.request(url, { method: body === undefined ? method : "POST", agent, headers }, (res) => {
    const chunks = []
    res.on("data", (chunk) => chunks.push(chunk))
    res.on("end", () => resolve({ status: res.statusCode, ok: res.statusCode >= 200 && res.statusCode < 300, body: Buffer.concat(chunks) }))
    res.on("error", reject)
  })
  // A kept-alive socket the server closed as it was reused: Node's documented remedy is to send again, once.
  req.on("error", (error) => req.reusedSocket && error.code === "ECONNRESET" && !retried ? request(url, { method, body, type }, true).then(resolve, reject) : reject(error))
  req.end(body)
})

/** A loopback port nothing listens on. */
export const freePort = () =>
  new Promise((resolve) => { const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)) }) })

/**
 * The built daemon, started as a user would (`bin/inferd.js serve`) on a free port with an inbox of its own,
 * once `/health/ready` answers 200; `env` adds to the environment. It dies with this process. One that exits
 * before it is ready (a native module built for another Node, say) throws with the end of its log.
 */
export const startDaemon = async (env = {}) => {
  const port = await freePort(), base = `http://127.0.0.1:${port}`
  const t0 = Date.now()
  const daemon = reaped(spawn(process.execPath, [join(root, "bin/inferd.js"), "serve"], {
    env: { ...process.env, PORT: String(port), INFERD_INBOX: mkdtempSync(join(tmpdir(), "inferd-bench-")), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  }))
  // Its log is on stderr, but the error that stops it is reported on stdout.
  let logTail = ""
  const keep = (chunk) => { logTail = (logTail + chunk).slice(-4000) }
  daemon.stdout.on("data", keep)
  daemon.stderr.on("data", keep)
  const closed = new Promise((resolve) => daemon.once("close", resolve))
  while (!(await fetch(base + "/health/ready").then((r) => r.ok, () => false))) {
    if (daemon.exitCode !== null || daemon.signalCode !== null) {
      await closed // its last lines, the error among them, may still be in the pipe
      throw new Error(`the daemon exited before it was ready:\n${logTail}`)
    }
    await sleep(100)
  }
  return { daemon, base, readyMs: Date.now() - t0 }
}

/** A child process that dies with this one, however it ends: a benchmark that throws leaves no daemon behind. */
export const reaped = (child) => {
  const kill = () => child.kill("SIGTERM")
  process.once("exit", kill)
  child.once("exit", () => process.off("exit", kill))
  return child
}
