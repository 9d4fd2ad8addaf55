/**
 * The `inferd` command line as a user runs it (the built bin, child processes): `cpus` on a fixture tree, and
 * `ocr` on a folder against a running daemon, with one JSON per input and exit codes scripts rely on.
 */
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { bin, ready, startDaemon } from "../support/daemon.js"
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname
const inferd = (...args: Array<string>) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 })

describe("inferd CLI", () => {
  it("cpus prints one JSON line from a cgroup v2 fixture tree", () => {
    const run = inferd("cpus", "--root", fixture("cgroups/v2-quota-2"), "--host-cpus", "8")
    expect(run.status).toBe(0)
    const line = JSON.parse(run.stdout.trim().split("\n").pop()!) as { cpus: number; quota: number; poolSize: number; source: string }
    expect(line).toMatchObject({ cpus: 2, quota: 2, poolSize: 1 })
    expect(line.source).toContain("cpu.max")
  })

  it("ocr on a folder writes one JSON per input, prints JSON lines, and exits 1 when an input fails", async () => {
    const daemon = await startDaemon({ INFERD_WORKERS: "1" })
    try {
      const server = daemon.base
      expect(await ready(daemon), daemon.log()).toBe(true)
      const inputs = mkdtempSync(join(tmpdir(), "inferd-cli-in-"))
      copyFileSync(fixture("images/simple.png"), join(inputs, "simple.png"))
      copyFileSync(fixture("images/testocr.png"), join(inputs, "testocr.png"))
      writeFileSync(join(inputs, "broken.png"), "not an image")
      writeFileSync(join(inputs, "notes.txt"), "ignored: not an image file")
      const out = mkdtempSync(join(tmpdir(), "inferd-cli-out-"))

      const run = inferd("ocr", inputs, "--server", server, "--out", out, "--json")
      expect(run.status, run.stderr).toBe(1)
      const lines = run.stdout.trim().split("\n").map((l) => JSON.parse(l) as { file: string; ok: boolean })
      expect(lines.map((l) => [l.file.split("/").pop(), l.ok]).sort()).toEqual([["broken.png", false], ["simple.png", true], ["testocr.png", true]])
      expect((JSON.parse(readFileSync(join(out, "simple.png.json"), "utf8")) as { text: string }).text.trim()).toBe("Tesseract.js")
      expect((JSON.parse(readFileSync(join(out, "broken.png.error.json"), "utf8")) as { _tag: string })._tag).toBe("ImageUndecodable")
      expect(existsSync(join(out, "notes.txt.json"))).toBe(false)

      const good = inferd("ocr", join(inputs, "simple.png"), "--server", server, "--out", out)
      expect(good.status, good.stderr).toBe(0)
    } finally {
      daemon.child.kill("SIGTERM")
      await daemon.exit
    }
  }, 180_000)

  it("exits 3 when no daemon answers", () => {
    const run = inferd("ocr", fixture("images/simple.png"), "--server", "http://127.0.0.1:9", "--out", mkdtempSync(join(tmpdir(), "inferd-cli-out-")))
    expect(run.status).toBe(3)
    expect(run.stderr).toContain("no inferd answers")
  })
})
