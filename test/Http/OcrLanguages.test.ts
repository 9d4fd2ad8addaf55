/**
 * Languages through the real server: what is installed, unknown ones refused with what is available, and the
 * six-language page read with all six against English alone.
 */
import { HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { ocrAnswer } from "../support/client.js"
import { awaitReady, post, send, testServer } from "../support/server.js"
import * as shared from "../support/shared.js"

/** Edit distance between two strings, by characters. */
const distance = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]!
}
const normal = (text: string) => text.replace(/\s+/g, " ").trim()
const cer = (read: string, truth: string) => distance([...normal(read)], [...normal(truth)]) / [...normal(truth)].length

const simple = new Uint8Array(readFileSync(new URL("../fixtures/images/simple.png", import.meta.url)))

layer(testServer({ pool: { size: 1 } }), { timeout: 180_000, excludeTestServices: true })("OCR languages", (it) => {
  it.effect("GET /v1/ocr/languages lists the six installed languages", () =>
    Effect.gen(function*() {
      const { status, body } = yield* send(HttpClientRequest.get("/v1/ocr/languages"))
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(body, { languages: ["deu", "eng", "fra", "ita", "por", "spa"], default: "eng" })
    }))

  it.effect("an unknown language is a 400 naming it and what is installed", () =>
    Effect.gen(function*() {
      for (const lang of ["xyz", "eng+klingon"]) {
        const { status, body } = yield* post(`/v1/ocr?lang=${lang}`, simple, "image/png")
        assert.strictEqual(status, 400)
        assert.deepInclude(body, { _tag: "UnknownLanguage", unknown: [lang.split("+").pop()], available: ["deu", "eng", "fra", "ita", "por", "spa"] })
      }
      const malformed = yield* post("/v1/ocr?lang=eng+", simple, "image/png")
      assert.strictEqual(malformed.status, 400)
    }))

  it.effect("?psm= sets tesseract's page segmentation mode; out of range is a 400", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const line = yield* Effect.flatMap(post("/v1/ocr?psm=7", simple, "image/png"), ocrAnswer)
      assert.strictEqual(line.text.trim(), "Tesseract.js")
      const wrong = yield* post("/v1/ocr?psm=14", simple, "image/png")
      assert.strictEqual(wrong.status, 400)
    }))

  it.effect.skipIf(!shared.has("the six-language page", "data/images/ocr/eurotext.png", "data/images/ocr/eurotext.gt.txt"))(
    "eurotext read with all six languages: lower CER than English alone, and its accented words",
    () =>
      Effect.gen(function*() {
        const page = new Uint8Array(readFileSync(shared.file("data/images/ocr/eurotext.png")))
        const truth = readFileSync(shared.file("data/images/ocr/eurotext.gt.txt"), "utf8")
        const english = (yield* Effect.flatMap(post("/v1/ocr?lang=eng", page.slice(), "image/png"), ocrAnswer)).text
        // tesseract leans on the first language: English last, as the page is mostly not English.
        const six = (yield* Effect.flatMap(post("/v1/ocr?lang=deu+fra+ita+spa+por+eng", page.slice(), "image/png"), ocrAnswer)).text
        const accented = [...new Set(truth.split(/[\s.,:;!?"()«»]+/).filter((word) => /[^\x00-\x7f]/.test(word)))]
        const right = (text: string) => accented.filter((word) => normal(text).split(/[\s.,:;!?"()«»]+/).includes(word))
        const [cerEnglish, cerSix] = [cer(english, truth), cer(six, truth)]
        yield* Effect.log(`eurotext CER: eng ${cerEnglish.toFixed(4)}, six languages ${cerSix.toFixed(4)}; accented words right: eng ${right(english).length}/${accented.length}, six ${right(six).length}/${accented.length}: ${right(six).join(" ")}`)
        assert.isBelow(cerSix, cerEnglish)
        assert.isAbove(right(six).length, right(english).length)
      })
  )
})
