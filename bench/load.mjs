#!/usr/bin/env node
// Keeps a daemon's pool saturated from a process of its own, so a latency probe elsewhere does not wait behind
// this process's own uploads. Prints one JSON line at the end: tasks done, errors, and their rate.
// usage: node bench/load.mjs --url URL --path /v1/ocr --file FILE --type image/png --concurrency N --seconds S
import { readFileSync } from "node:fs"
import { request } from "./lib.mjs"

const arg = (k, d) => { const i = process.argv.indexOf("--" + k); return i > 0 ? process.argv[i + 1] : d }
const url = arg("url") + arg("path", "/v1/ocr"), body = readFileSync(arg("file")), type = arg("type", "image/png")
const end = performance.now() + Number(arg("seconds", 10)) * 1000
let done = 0, errors = 0
const one = async () => {
  while (performance.now() < end) {
    const r = await request(url, { body, type }).catch(() => null)
    r?.ok ? done++ : errors++
  }
}
const t0 = performance.now()
await Promise.all(Array.from({ length: Number(arg("concurrency", 3)) }, one))
console.log(JSON.stringify({ done, errors, perSecond: done / ((performance.now() - t0) / 1000) }))
