import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { type Header, readableAsIs } from "../../src/Workers/Image.js"
import { words } from "../../src/Workers/Ocr.js"

// Tesseract's TSV for the first line of testocr.png, as tesseract.js 7 returns it: a row per level (page,
// block, paragraph, line, word), with boxes as left/top/width/height and a confidence only on words.
const tsv = [
  "1\t1\t0\t0\t0\t0\t0\t0\t640\t480\t-1\t",
  "2\t1\t1\t0\t0\t0\t36\t92\t582\t269\t-1\t",
  "3\t1\t1\t1\t0\t0\t36\t92\t582\t92\t-1\t",
  "4\t1\t1\t1\t1\t0\t36\t92\t544\t30\t-1\t",
  "5\t1\t1\t1\t1\t1\t36\t92\t60\t24\t95.156906\tThis",
  "5\t1\t1\t1\t1\t2\t109\t92\t20\t24\t95.156906\tis",
  ""
].join("\n")

describe("OCR words from tesseract's TSV", () => {
  it("keeps word rows only, with boxes as corners and the confidence as given", () => {
    assert.deepStrictEqual(words(tsv), [
      { text: "This", confidence: 95.156906, bbox: { x0: 36, y0: 92, x1: 96, y1: 116 } },
      { text: "is", confidence: 95.156906, bbox: { x0: 109, y0: 92, x1: 129, y1: 116 } }
    ])
  })

  it("reads no words from an empty page or a missing TSV", () => {
    assert.deepStrictEqual(words("1\t1\t0\t0\t0\t0\t0\t0\t10\t10\t-1\t\n"), [])
    assert.deepStrictEqual(words(null), [])
  })
})

describe("which uploads tesseract reads as they are", () => {
  const header = (overrides: Partial<Header> = {}): Header =>
    ({ width: 640, height: 480, pages: 1, format: "png", channels: 4, orientation: 1, density: undefined, ...overrides })
  const png = new Uint8Array(readFileSync(new URL("../fixtures/images/testocr.png", import.meta.url)))
  const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9])

  it("a whole, upright, single-page PNG, or a grey or RGB JPEG", () => {
    assert.isTrue(readableAsIs(png, header()))
    assert.isTrue(readableAsIs(jpeg, header({ format: "jpeg", channels: 3 })))
    assert.isTrue(readableAsIs(jpeg, header({ format: "jpeg", channels: 1 })))
  })

  it("not a truncated file, a rotated or multi-page one, CMYK, or another format", () => {
    assert.isFalse(readableAsIs(png.subarray(0, png.length - 1), header()))
    assert.isFalse(readableAsIs(jpeg.subarray(0, 6), header({ format: "jpeg", channels: 3 })))
    assert.isFalse(readableAsIs(png, header({ orientation: 6 })))
    assert.isFalse(readableAsIs(png, header({ pages: 2 })))
    assert.isFalse(readableAsIs(jpeg, header({ format: "jpeg", channels: 4 })))
    assert.isFalse(readableAsIs(png, header({ format: "webp" })))
  })
})
