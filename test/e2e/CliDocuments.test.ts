/**
 * `inferd ocr` on documents as a user runs it (the built bin against a running daemon): every page of a
 * multi-page TIFF and of a PDF, as JSON and in the format `--format` asks for, each under its matching extension.
 */
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bin, ready, startDaemon } from "../support/daemon.js"
import { makePdf } from "../support/pdfs.js"

const fixture = (name: string) => new URL(`../fixtures/images/${name}`, import.meta.url).pathname
const temp = (name: string) => mkdtempSync(join(tmpdir(), `inferd-cli-docs-${name}-`))
const inferd = (args: ReadonlyArray<string>) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 })

describe("inferd ocr on documents", () => {
  it("a three-page TIFF and a PDF: every page, as JSON, then as text with --format text (.txt)", async () => {
    const daemon = await startDaemon({ INFERD_WORKERS: "2" })
    try {
      expect(await ready(daemon), daemon.log()).toBe(true)
      const inputs = temp("in")
      copyFileSync(fixture("three-pages.tif"), join(inputs, "three-pages.tif"))
      writeFileSync(join(inputs, "mixed.pdf"), await makePdf([
        { kind: "png", image: new Uint8Array(readFileSync(fixture("simple.png"))), dpi: 150 },
        { kind: "text", lines: ["The second page is text already."] }
      ]))

      const json = temp("json")
      const asJson = inferd(["ocr", inputs, "--server", daemon.base, "--out", json])
      expect(asJson.status, asJson.stderr).toBe(0)
      const tiff = JSON.parse(readFileSync(join(json, "three-pages.tif.json"), "utf8")) as { pages: Array<{ page: number; text: string }> }
      expect(tiff.pages.map((p) => p.page)).toEqual([1, 2, 3])
      expect(tiff.pages[2]!.text).toContain("The third page says hello")
      const pdf = JSON.parse(readFileSync(join(json, "mixed.pdf.json"), "utf8")) as { pages: Array<{ source: string }> }
      expect(pdf.pages.map((p) => p.source)).toEqual(["ocr", "text"])

      const text = temp("text")
      const asText = inferd(["ocr", inputs, "--server", daemon.base, "--out", text, "--format", "text"])
      expect(asText.status, asText.stderr).toBe(0)
      expect(readdirSync(text).sort()).toEqual(["mixed.pdf.txt", "three-pages.tif.txt"])
      const pages = readFileSync(join(text, "three-pages.tif.txt"), "utf8").split("\f")
      expect(pages).toHaveLength(3)
      expect(pages[1]!.trim()).toBe("Tesseract.js")
      expect(readFileSync(join(text, "mixed.pdf.txt"), "utf8").split("\f").map((p) => p.trim())).toEqual(["Tesseract.js", "The second page is text already."])

      const unknown = inferd(["ocr", inputs, "--server", daemon.base, "--out", temp("bad"), "--lang", "klingon"])
      expect(unknown.status).toBe(1)
      expect(unknown.stderr).toContain("UnknownLanguage")
    } finally {
      daemon.child.kill("SIGTERM")
      await daemon.exit
    }
  }, 180_000)
})
