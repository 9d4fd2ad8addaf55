/**
 * The built daemon as a user runs it: a child process on a free loopback port, OCR load over real HTTP and
 * the inbox, then SIGTERM. It must exit 0 within the grace period and lose no inbox file.
 */
import { describe, expect, it } from "vitest"
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ready, startDaemon, waitFor } from "../support/daemon.js"

const fixture = (name: string) => new URL(`../fixtures/images/${name}`, import.meta.url).pathname

interface Status { readonly pool: { readonly size: number; readonly busy: number }; readonly loops: ReadonlyArray<{ readonly name: string }> }
interface Answer { readonly status: number; readonly body: { readonly text?: string; readonly _tag?: string } }
const status = async (base: string) => (await (await fetch(`${base}/status`)).json()) as Status

describe("inferd serve (child process)", () => {
  it("SIGKILL in the middle of inbox work, then a restart: every file ends in done/ with a whole result", async () => {
    const inbox = mkdtempSync(join(tmpdir(), "inferd-e2e-kill-"))
    const names = Array.from({ length: 12 }, (_, i) => `page-${i}.png`)
    names.forEach((name) => copyFileSync(fixture("testocr.png"), join(inbox, name)))
    const env = { INFERD_WORKERS: "2", INFERD_INBOX: inbox, INFERD_INBOX_INTERVAL: "200 millis" }
    const first = await startDaemon(env)
    try {
      // Kill it once some, but not all, files are done.
      expect(await waitFor(async () => existsSync(join(inbox, "done")) && readdirSync(join(inbox, "done")).length >= 2, 90_000), first.log()).toBe(true)
      first.child.kill("SIGKILL")
      await first.exit
    } finally {
      first.child.kill("SIGKILL")
    }
    const second = await startDaemon(env)
    try {
      const left = () => readdirSync(inbox).filter((f) => f.endsWith(".png"))
      expect(await waitFor(async () => left().length === 0, 90_000), `left: ${left()}; ${second.log()}`).toBe(true)
      for (const name of names) {
        expect(existsSync(join(inbox, "done", name)), name).toBe(true)
        const result = JSON.parse(readFileSync(join(inbox, "outbox", `${name}.json`), "utf8")) as { text: string; file: string }
        expect(result.text).toContain("This is a lot of 12 point text")
        expect(result.file).toBe(name)
      }
      expect(readdirSync(join(inbox, "failed"))).toEqual([])
    } finally {
      second.child.kill("SIGTERM")
      await second.exit
    }
  }, 240_000)

  it("serves OCR under load, then stops on SIGTERM with 50 requests in flight: exit 0, no inbox file lost", async () => {
    const inbox = mkdtempSync(join(tmpdir(), "inferd-e2e-inbox-"))
    // A grace far shorter than the queued pages need (up to 16 queued, each ~300 ms of CPU, on 2 workers), so some
    // are refused with ShuttingDown on any machine: with 10 s, a quiet machine finished them all and none were.
    const daemon = await startDaemon({ INFERD_WORKERS: "2", INFERD_INBOX: inbox, INFERD_INBOX_INTERVAL: "300 millis", INFERD_SHUTDOWN_GRACE: "500 millis" })
    const { base } = daemon
    try {
      expect(await ready(daemon), daemon.log()).toBe(true)
      const first = await status(base)
      expect(first.pool.size).toBe(2)
      // Worker threads run niced (INFERD_WORKER_NICE, default 10) so the event loop goes first; the main thread does not.
      const nice = readdirSync(`/proc/${daemon.child.pid}/task`).map((tid) => Number(readFileSync(`/proc/${daemon.child.pid}/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]))
      expect(nice[0]).toBe(0)
      expect(nice.filter((n) => n === 10).length).toBeGreaterThanOrEqual(2)
      expect(first.loops.map((l) => l.name).sort()).toEqual(["canary", "inbox", "jobs-ttl"])

      const names = ["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"]
      names.forEach((name, i) => copyFileSync(fixture(i % 2 ? "simple.png" : "testocr.png"), join(inbox, name)))
      const body = readFileSync(fixture("testocr.png"))
      let read = 0
      const requests = Array.from({ length: 50 }, () =>
        fetch(`${base}/v1/ocr`, { method: "POST", body, headers: { "content-type": "image/png" } })
          .then(async (r): Promise<Answer> => {
            if (r.status === 200) read++
            return { status: r.status, body: (await r.json()) as Answer["body"] }
          })
      )
      // Let the load get going (both workers busy, a first page read), then stop the daemon in the middle of it.
      expect(await waitFor(async () => (await status(base)).pool.busy === 2, 30_000), daemon.log()).toBe(true)
      expect(await waitFor(async () => read > 0, 60_000), daemon.log()).toBe(true)
      const stopAt = Date.now()
      daemon.child.kill("SIGTERM")
      const [code, answers] = await Promise.all([daemon.exit, Promise.all(requests)])
      const stopMs = Date.now() - stopAt

      expect(code, daemon.log()).toBe(0)
      expect(stopMs).toBeLessThan(12_000)
      for (const answer of answers) {
        // Finished, or a typed 503: refused for a full queue before, or not started by, the shutdown.
        if (answer.status === 200) expect(answer.body.text).toContain("This is a lot of 12 point text")
        else expect(answer.status, JSON.stringify(answer)).toBe(503)
        if (answer.status === 503) expect(["ShuttingDown", "Overloaded"]).toContain(answer.body._tag)
      }
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0)
      expect(answers.filter((a) => a.body._tag === "ShuttingDown").length).toBeGreaterThan(0)
      for (const name of names) {
        const waiting = existsSync(join(inbox, name))
        const done = existsSync(join(inbox, "done", name)) && existsSync(join(inbox, "outbox", `${name}.json`))
        expect(waiting || done, `${name}: inbox ${readdirSync(inbox)} done ${readdirSync(join(inbox, "done"))}`).toBe(true)
        expect(existsSync(join(inbox, "failed", name))).toBe(false)
      }
      expect(daemon.log()).toContain("worker pool stopped")
    } finally {
      daemon.child.kill("SIGKILL")
    }
  }, 180_000)
})
