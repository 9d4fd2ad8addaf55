/**
 * Jobs survive a runner's death, as a user runs them: built daemons (`inferd serve`), one worker each.
 * - Three runners on the suite's PostgreSQL (a database of their own): 24 OCR jobs sent to one, another
 *   killed with SIGKILL once a few are done. Every job ends done with its text, readable from the third; the
 *   killed runner's jobs run again on the survivors; each job ends once; survivors exit 0 on SIGTERM.
 * - The embedded daemon (SQLite): SIGKILL mid-work, a restart on another PORT, every job done.
 * Failover times are printed (kill → first re-homed job starts → last job done), never asserted.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { type Daemon, freePort, ready, startDaemon, waitFor } from "../support/daemon.js"
import { administer, freshDatabase } from "../support/postgres.js"

const page = readFileSync(new URL("../fixtures/images/testocr.png", import.meta.url))

interface Job {
  readonly id: string
  readonly state: string
  readonly runner: string | null
  readonly attempts: number
  readonly startedAt?: string
  readonly updatedAt: string
  readonly result?: { readonly text: string }
}
interface Cluster { readonly cluster: { readonly runner: string; readonly runners: ReadonlyArray<{ readonly healthy: boolean }>; readonly shards: number } }

const json = async <A>(url: string, init?: RequestInit) => (await (await fetch(url, init)).json()) as A
const submit = (daemon: Daemon) =>
  json<{ id: string }>(`${daemon.base}/v1/jobs?kind=ocr`, { method: "POST", body: page, headers: { "content-type": "image/png" } }).then((r) => r.id)
const jobs = (daemon: Daemon, ids: ReadonlyArray<string>) => Promise.all(ids.map((id) => json<Job>(`${daemon.base}/v1/jobs/${id}`)))
const allDone = async (daemon: Daemon, ids: ReadonlyArray<string>) => (await jobs(daemon, ids)).every((job) => job.state === "done")
/** What a failed wait shows: each job's state, runner and attempts, and the daemons' lines other than the access log. */
const explain = async (reader: Daemon, ids: ReadonlyArray<string>, daemons: ReadonlyArray<Daemon>) =>
  JSON.stringify((await jobs(reader, ids)).map((j) => [j.id.slice(0, 8), j.state, j.runner, j.attempts])) + "\n" +
  daemons.map((d) => d.log().split("\n").filter((line) => !line.includes("\"route\"")).slice(-40).join("\n")).join("\n---\n")

interface LogLine { readonly message: string; readonly timestamp: string; readonly annotations: { readonly job?: string } }
/** One daemon's log lines with `message`, as [job id, time]. */
const logged = (daemon: Daemon, message: string) =>
  daemon.log().split("\n").filter((line) => line.includes(`"${message}"`)).map((line) => JSON.parse(line) as LogLine)
    .map((line) => [line.annotations.job ?? "", Date.parse(line.timestamp)] as const)
const doneLines = (daemon: Daemon) => logged(daemon, "job done").map(([id]) => id)

const stop = async (daemon: Daemon) => {
  daemon.child.kill("SIGTERM")
  return daemon.exit
}

describe("jobs on @effect/cluster (child processes)", () => {
  it("three runners on PostgreSQL: kill -9 one mid-work; its jobs finish on the others, each once", async () => {
    const url = await freshDatabase()
    const daemons: Array<Daemon> = []
    try {
      for (let i = 0; i < 3; i++) {
        daemons.push(await startDaemon({ INFERD_WORKERS: "1", INFERD_DATABASE_URL: url, INFERD_RUNNER_ADDRESS: `127.0.0.1:${await freePort()}` }))
      }
      const [entry, victim, reader] = daemons as [Daemon, Daemon, Daemon]
      for (const daemon of daemons) expect(await ready(daemon), daemon.log()).toBe(true)
      // Every runner sees all three and holds shards of its own before work arrives.
      const balanced = await waitFor(async () =>
        (await Promise.all(daemons.map((d) => json<Cluster>(`${d.base}/status`)))).every((s) => s.cluster.runners.filter((r) => r.healthy).length === 3 && s.cluster.shards > 0), 60_000)
      expect(balanced).toBe(true)
      const victimAddress = (await json<Cluster>(`${victim.base}/status`)).cluster.runner

      const ids = await Promise.all(Array.from({ length: 24 }, () => submit(entry)))
      expect(await waitFor(async () => (await jobs(reader, ids)).filter((j) => j.state === "done").length >= 3, 120_000)).toBe(true)
      const onVictim = (await jobs(reader, ids)).filter((j) => j.state === "running" && j.runner === victimAddress).map((j) => j.id)
      const killedAt = Date.now()
      victim.child.kill("SIGKILL")
      await victim.exit

      expect(await waitFor(() => allDone(reader, ids), 180_000), await explain(reader, ids, daemons)).toBe(true)
      const final = await jobs(reader, ids)
      for (const job of final) expect(job.result?.text, job.id).toContain("This is a lot of 12 point text")
      const rehomed = final.filter((j) => onVictim.includes(j.id))
      expect(onVictim.length).toBeGreaterThan(0)
      for (const job of rehomed) {
        expect(job.runner).not.toBe(victimAddress)
        expect(job.attempts).toBeGreaterThanOrEqual(2)
      }
      // Each job ended once, on one runner, wherever it was tried.
      const ended = [entry, victim, reader].flatMap(doneLines).filter((id) => ids.includes(id)).sort()
      expect(ended).toEqual([...ids].sort())

      // Failover: a survivor takes the killed runner's job over and starts it at once.
      const takenOver = [entry, reader].flatMap((d) => logged(d, "job taken over")).filter(([id]) => onVictim.includes(id))
      expect(takenOver.map(([id]) => id).sort()).toEqual([...onVictim].sort())
      const firstTaken = Math.min(...takenOver.map(([, at]) => at)) - killedAt
      const firstRestart = Math.min(...rehomed.map((j) => Date.parse(j.startedAt ?? j.updatedAt))) - killedAt
      const lastDone = Math.max(...final.map((j) => Date.parse(j.updatedAt))) - killedAt
      console.log(`failover (3 runners, PostgreSQL, 1 worker each): kill → first job taken over ${firstTaken} ms → first re-homed job starts ${firstRestart} ms → last job done ${lastDone} ms; ${rehomed.length} jobs were running on the killed runner`)

      // SIGTERM mid-work: the runner finishes or leaves its tasks, hands its shards over, exits 0; nothing is lost.
      const more = await Promise.all(Array.from({ length: 6 }, () => submit(reader)))
      const entryAddress = (await json<Cluster>(`${entry.base}/status`)).cluster.runner
      expect(await waitFor(async () => (await jobs(reader, more)).some((j) => j.state === "running" && j.runner === entryAddress), 120_000)).toBe(true)
      const stoppedAt = Date.now()
      expect(await stop(entry)).toBe(0)
      const stopMs = Date.now() - stoppedAt
      expect(await waitFor(() => allDone(reader, more), 180_000), await explain(reader, more, daemons)).toBe(true)
      for (const job of await jobs(reader, more)) expect(job.result?.text).toContain("This is a lot of 12 point text")
      console.log(`SIGTERM of a busy runner: exit 0 after ${stopMs} ms; its jobs then finished on the last runner`)
      expect(await stop(reader)).toBe(0)
    } finally {
      for (const daemon of daemons) daemon.child.kill("SIGKILL")
    }
  }, 420_000)

  it("PostgreSQL unreachable: /health/ready is 503 naming it, and 200 again once it is back", async () => {
    const url = await freshDatabase()
    const name = new URL(url).pathname.slice(1)
    const daemon = await startDaemon({ INFERD_WORKERS: "1", INFERD_DATABASE_URL: url, INFERD_RUNNER_ADDRESS: `127.0.0.1:${await freePort()}` })
    const readiness = async () => {
      const response = await fetch(`${daemon.base}/health/ready`)
      return { status: response.status, body: (await response.json()) as { reasons?: ReadonlyArray<string> } }
    }
    try {
      expect(await ready(daemon), daemon.log()).toBe(true)
      await administer([`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`])
      expect(await waitFor(async () => (await readiness()).status === 503, 30_000)).toBe(true)
      expect((await readiness()).body.reasons?.join()).toContain("jobs database is unreachable")
      await administer([`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`])
      expect(await waitFor(async () => (await readiness()).status === 200, 60_000), daemon.log()).toBe(true)
    } finally {
      await administer([`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`])
      expect(await stop(daemon)).toBe(0)
    }
  }, 180_000)

  it("embedded: kill -9 mid-work, restart on another PORT: the same runner resumes every job", async () => {
    const env = { INFERD_WORKERS: "1" }
    const first = await startDaemon(env)
    let ids: Array<string> = []
    let onVictim: Array<string> = []
    let killedAt = 0
    try {
      expect(await ready(first), first.log()).toBe(true)
      ids = await Promise.all(Array.from({ length: 8 }, () => submit(first)))
      expect(await waitFor(async () => (await jobs(first, ids)).some((j) => j.state === "done"), 120_000)).toBe(true)
      onVictim = (await jobs(first, ids)).filter((j) => j.state === "running").map((j) => j.id)
      killedAt = Date.now()
      first.child.kill("SIGKILL")
      await first.exit
    } finally {
      first.child.kill("SIGKILL")
    }
    // The same data folder (the working directory), another PORT: the runner's lock identity is its address.
    const second = await startDaemon(env, first.cwd)
    try {
      expect(await ready(second), second.log()).toBe(true)
      const readyAt = Date.now()
      expect(await waitFor(() => allDone(second, ids), 180_000), await explain(second, ids, [first, second])).toBe(true)
      const final = await jobs(second, ids)
      for (const job of final) expect(job.result?.text).toContain("This is a lot of 12 point text")
      const resumed = final.filter((j) => onVictim.includes(j.id))
      for (const job of resumed) expect(job.attempts).toBe(2)
      const ended = [...doneLines(first), ...doneLines(second)].filter((id) => ids.includes(id)).sort()
      expect(ended).toEqual([...ids].sort())
      const firstRestart = Math.min(...resumed.map((j) => Date.parse(j.startedAt ?? j.updatedAt)))
      console.log(`embedded restart: kill → first resumed job starts ${firstRestart - killedAt} ms (the restart included) → ready ${readyAt - killedAt} ms`)
    } finally {
      expect(await stop(second)).toBe(0)
    }
  }, 300_000)
})
