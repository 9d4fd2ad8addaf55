// Shared helpers for the benchmarks: statistics, result files, interleaved rounds.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("..", import.meta.url))
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
export const pct = (xs, p) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
export const median = (xs) => pct(xs, 0.5)
/** median [min–max] of a list of per-round numbers */
export const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs.length })
export const fmt = (s, digits = 1) => `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`

export const save = (key, value) => {
  const file = `${root}/bench/results.json`
  const all = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {}
  all[key] = { at: new Date().toISOString(), ...value }
  writeFileSync(file, JSON.stringify(all, null, 2) + "\n")
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
