/**
 * The `inferd` command line as a user runs it (the built bin, child processes): `cpus` on a fixture tree, `ocr`
 * on folders against a running daemon that wants a token, with one JSON per input and exit codes scripts rely
 * on, and the wrong inputs a stranger types, each answered by one plain line.
 */
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { bin, freePort, ready, startDaemon } from "../support/daemon.js"
import * as shared from "../support/shared.js"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname
const temp = (name: string) => mkdtempSync(join(tmpdir(), `inferd-cli-${name}-`))
const TOKEN = "cli-test-token"
const inferd = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const { INFERD_API_TOKEN: _, ...inherited } = process.env
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000, env: { ...inherited, ...env } })
}
/** stderr's lines, for "one plain line" checks: no log record, no stack frame. */
const lines = (stderr: string) => stderr.trim().split("\n")
const plain = (stderr: string) => expect(stderr).not.toMatch(/timestamp=|level=|\n\s+at |"_tag"/)

describe("inferd CLI", () => {
  it("cpus prints one JSON line from a cgroup v2 fixture tree", () => {
    const run = inferd(["cpus", "--root", fixture("cgroups/v2-quota-2"), "--host-cpus", "8"])
    expect(run.status).toBe(0)
    const line = JSON.parse(run.stdout.trim().split("\n").pop()!) as { cpus: number; quota: number; poolSize: number; source: string }
    expect(line).toMatchObject({ cpus: 2, quota: 2, poolSize: 1 })
    expect(line.source).toContain("cpu.max")
  })

  it("ocr: one JSON per input mirroring the folders, exit 1 when an input fails, exit 4 without the token", async () => {
    const daemon = await startDaemon({ INFERD_WORKERS: "1", INFERD_API_TOKEN: TOKEN })
    try {
      const server = daemon.base
      expect(await ready(daemon), daemon.log()).toBe(true)
      const inputs = temp("in")
      copyFileSync(fixture("images/simple.png"), join(inputs, "simple.png"))
      copyFileSync(fixture("images/testocr.png"), join(inputs, "testocr.png"))
      writeFileSync(join(inputs, "broken.png"), "not an image")
      writeFileSync(join(inputs, "notes.txt"), "ignored: not an image file")

      // No token, then a wrong one: one line each, exit 4, and nothing written.
      const noToken = temp("out")
      for (const [env, says] of [[{}, "it needs a token"], [{ INFERD_API_TOKEN: "wrong" }, "it refused the token"]] as const) {
        const refused = inferd(["ocr", inputs, "--server", server, "--out", noToken], env)
        expect(refused.status, refused.stderr).toBe(4)
        expect(lines(refused.stderr)).toEqual([`inferd: ${server} answered 401 Unauthorized: ${says} (set INFERD_API_TOKEN or pass --token)`])
      }
      expect(readdirSync(noToken)).toEqual([])

      const out = temp("out")
      const run = inferd(["ocr", inputs, "--server", server, "--out", out, "--json"], { INFERD_API_TOKEN: TOKEN })
      expect(run.status, run.stderr).toBe(1)
      const results = run.stdout.trim().split("\n").map((l) => JSON.parse(l) as { file: string; ok: boolean })
      expect(results.map((l) => [l.file.split("/").pop(), l.ok]).sort()).toEqual([["broken.png", false], ["simple.png", true], ["testocr.png", true]])
      expect((JSON.parse(readFileSync(join(out, "simple.png.json"), "utf8")) as { text: string }).text.trim()).toBe("Tesseract.js")
      expect((JSON.parse(readFileSync(join(out, "broken.png.error.json"), "utf8")) as { _tag: string })._tag).toBe("ImageUndecodable")
      expect(existsSync(join(out, "notes.txt.json"))).toBe(false)
      expect(lines(run.stderr)).toEqual(["inferd: 1 of 3 inputs failed"])

      // The same file name in two folders: each keeps its result, under its folder's name.
      const twins = temp("twins")
      mkdirSync(join(twins, "a"))
      mkdirSync(join(twins, "b"))
      copyFileSync(fixture("images/simple.png"), join(twins, "a", "page.png"))
      copyFileSync(fixture("images/testocr.png"), join(twins, "b", "page.png"))
      const mirrored = temp("out")
      const both = inferd(["ocr", join(twins, "a"), join(twins, "b"), "--server", server, "--out", mirrored, "--token", TOKEN])
      expect(both.status, both.stderr).toBe(0)
      expect(lines(both.stderr)).toEqual([`2 of 2 done, results in ${mirrored}`])
      const text = (name: string) => (JSON.parse(readFileSync(join(mirrored, name), "utf8")) as { text: string }).text
      expect(text("a/page.png.json").trim()).toBe("Tesseract.js")
      expect(text("b/page.png.json")).toMatch(/^This is a lot of 12 point text/)
    } finally {
      daemon.child.kill("SIGTERM")
      await daemon.exit
    }
  }, 180_000)

  it("each command's flags are its route's options: sent to the daemon, run by --local alike, checked as the route checks them", async () => {
    const daemon = await startDaemon({ INFERD_WORKERS: "1", INFERD_MODELS_DIR: shared.file("data/models") })
    try {
      expect(await ready(daemon), daemon.log()).toBe(true)
      const out = temp("out")
      const json = <A>(name: string) => JSON.parse(readFileSync(join(out, name), "utf8")) as A
      // --local reads the face models from INFERD_MODELS_DIR, as the daemon does.
      const run = (args: ReadonlyArray<string>) => inferd([...args, "--server", daemon.base, "--out", out], { INFERD_MODELS_DIR: shared.file("data/models") })

      // OCR: --psm 7 (one line) with --format text writes the text; a mode out of range is wrong usage, said as the API says it.
      expect(run(["ocr", fixture("images/simple.png"), "--psm", "7", "--format", "text"]).status).toBe(0)
      expect(readFileSync(join(out, "simple.png.txt"), "utf8").trim()).toBe("Tesseract.js")
      const badPsm = run(["ocr", fixture("images/simple.png"), "--psm", "14"])
      expect([badPsm.status, lines(badPsm.stderr)]).toEqual([2, ["inferd: --psm takes an integer from 0 to 13 (got \"14\")"]])
      const badLang = run(["ocr", fixture("images/simple.png"), "--lang", "eng+xx"])
      expect(badLang.status, badLang.stderr).toBe(1)
      expect(json<{ _tag: string }>("simple.png.error.json")._tag).toBe("UnknownLanguage")
      const late = run(["ocr", fixture("images/testocr.png"), "--timeout-ms", "1"])
      expect(late.status).toBe(1)
      expect(json<{ _tag: string; timeoutMs: number }>("testocr.png.error.json")).toMatchObject({ _tag: "TaskTimeout", timeoutMs: 1 })

      // Audio: the VAD's options change the segments, the same through the daemon and --local.
      const wav = fixture("audio/vad-4-segment-test_16k.wav")
      const segments = (args: ReadonlyArray<string>) => {
        const done = run(["audio", wav, ...args])
        expect(done.status, done.stderr).toBe(0)
        return json<{ speech: ReadonlyArray<unknown> }>("vad-4-segment-test_16k.wav.json").speech
      }
      const strict = ["--threshold", "0.6", "--min-speech-ms", "1500", "--min-silence-ms", "300", "--speech-pad-ms", "0"]
      const defaults = segments([])
      expect(defaults.length).toBeGreaterThan(0)
      const remote = segments(strict)
      expect(remote).not.toEqual(defaults)
      expect(segments([...strict, "--local"])).toEqual(remote)
      const badThreshold = run(["audio", wav, "--threshold", "1.5"])
      expect([badThreshold.status, lines(badThreshold.stderr)]).toEqual([2, ["inferd: --threshold takes a number from 0.01 to 0.99 (got \"1.5\")"]])

      // Faces: --min-score is the detector's bar; no face of this photo reaches 0.99.
      if (shared.has("faces through the CLI", "data/models/yunet_s_dynamic.onnx", "data/images/faces/two_people.jpg")) {
        const photo = shared.file("data/images/faces/two_people.jpg")
        const faces = (args: ReadonlyArray<string>) => {
          const done = run(["faces", photo, ...args])
          expect(done.status, done.stderr).toBe(0)
          return json<{ faces: ReadonlyArray<unknown> }>("two_people.jpg.json").faces.length
        }
        expect([faces([]), faces(["--min-score", "0.99"]), faces(["--model", "fast", "--local"])]).toEqual([2, 0, 2])
      }
    } finally {
      daemon.child.kill("SIGTERM")
      await daemon.exit
    }
  }, 180_000)

  it("exits 3 when no daemon answers, saying why", async () => {
    const server = `http://127.0.0.1:${await freePort()}`
    const run = inferd(["ocr", fixture("images/simple.png"), "--server", server, "--out", temp("out")])
    expect(run.status).toBe(3)
    expect(lines(run.stderr)).toEqual([`inferd: no inferd answers at ${server} (connect ECONNREFUSED ${server.slice(7)})`])
  })

  it("answers wrong usage with one plain line and exit 2; an empty folder with a warning and exit 1", () => {
    const missing = inferd(["ocr", "/nonexistent/scan.png"])
    expect(missing.status).toBe(2)
    expect(lines(missing.stderr)).toEqual(["inferd: /nonexistent/scan.png: no such file or folder"])
    const noArgument = inferd(["ocr"])
    expect(noArgument.status).toBe(2)
    expect(noArgument.stderr.trim()).toBe("Missing argument <file|dir>")
    const unknown = inferd(["ocr", fixture("images"), "--outt", "x"])
    expect(unknown.status).toBe(2)
    expect(lines(unknown.stderr)).toEqual(["inferd: --outt: no such option (--help lists them)"])
    const zero = inferd(["ocr", fixture("images"), "--concurrency", "0"])
    expect(zero.status).toBe(2)
    expect(zero.stderr.trim()).toBe("--concurrency must be at least 1")
    const notAFolder = join(temp("out"), "file")
    writeFileSync(notAFolder, "")
    const badOut = inferd(["ocr", fixture("images"), "--out", notAFolder, "--server", "http://127.0.0.1:9"])
    expect(badOut.status).toBe(2)
    expect(lines(badOut.stderr)).toEqual([`inferd: ${notAFolder}: exists and is not a folder`])
    for (const run of [missing, noArgument, unknown, zero, badOut]) plain(run.stderr)

    const empty = temp("empty")
    const none = inferd(["audio", empty, "--server", "http://127.0.0.1:9"])
    expect(none.status).toBe(1)
    expect(lines(none.stderr)).toEqual([`warning: ${empty} holds no audio files (.wav .flac .ogg .mp3)`, `inferd: no audio files in ${empty}`])
  })

  it("--help states every default and the exit codes", () => {
    const help = inferd(["ocr", "--help"])
    expect(help.status).toBe(0)
    const text = help.stdout.replace(/\x1b\[[0-9;]*m/g, "")
    expect(text).toContain(
      "$ ocr [--server URL] [--out DIR] [--json] [--local] [--concurrency N] [--token TOKEN] [--lang LANGS] [--psm 0-13] [--dpi 36-600] [--ocr auto | force] [--format json | text | hocr | tsv | pdf] [--timeout-ms MS] <file|dir>..."
    )
    for (const fact of ["(default http://127.0.0.1:8080)", "(default: the current folder)", "(default 4)", "(default: INFERD_API_TOKEN, else none)", "(default json)", "(default eng;", "(default 300)", "(default auto)", "EXIT CODES"]) {
      expect(text).toContain(fact)
    }
    for (const code of ["0", "1", "2", "3", "4"]) expect(text).toMatch(new RegExp(`\\n\\s*${code}\\n\\s+\\S`))
  })

  it("models fetch names the host it could not reach, one line per file, and exits 1", async () => {
    const host = `127.0.0.1:${await freePort()}`
    const run = inferd(["models", "fetch", "--from", `http://${host}/models`, "--dir", temp("models")])
    expect(run.status).toBe(1)
    const perFile = run.stdout.trim().split("\n")
    expect(perFile).toHaveLength(2)
    for (const line of perFile) expect(line).toMatch(new RegExp(`^failed +\\S+\\.onnx +cannot reach ${host} \\(connect ECONNREFUSED ${host}\\)$`))
    expect(lines(run.stderr)).toEqual(["inferd: 2 of 2 model files failed: yunet_s_dynamic.onnx, MobileFaceNet.onnx"])
  })
})
