/**
 * hOCR and TSV of one page, numbered as the page it is in its document: tesseract numbers every page it is
 * given as the first, and a PDF page answered from its text layer has no tesseract output at all.
 */
import type { TextWord } from "./RenderProtocol.js"

/** tesseract's hOCR of a lone page, renumbered: element ids carry the page (`word_1_7`), `ppageno` counts from 0. */
export const renumberHocr = (hocr: string, page: number) =>
  hocr.replace(/(id='[a-z_]+_)1(?=['_])/g, `$1${page}`).replace(/ppageno 0/g, `ppageno ${page - 1}`)

/** tesseract's TSV of a lone page, renumbered: the second column is the page. */
export const renumberTsv = (tsv: string, page: number) =>
  tsv.split("\n").filter((row) => row !== "").map((row) => row.replace(/^(\d+)\t\d+\t/, `$1\t${page}\t`)).join("\n") + "\n"

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;")

const box = ({ x0, y0, x1, y1 }: TextWord["bbox"]) => `bbox ${x0} ${y0} ${x1} ${y1}`

/** hOCR of a text-layer page: its words, sure of themselves, in one line of the page each. */
export const textLayerHocr = (words: ReadonlyArray<TextWord>, page: number, width: number, height: number) =>
  [
    `<div class='ocr_page' id='page_${page}' title='bbox 0 0 ${width} ${height}; ppageno ${page - 1}'>`,
    ...words.map((word, i) => `  <span class='ocrx_word' id='word_${page}_${i + 1}' title='${box(word.bbox)}; x_wconf 100'>${escape(word.text)}</span>`),
    "</div>",
    ""
  ].join("\n")

/** TSV of a text-layer page, in tesseract's columns: the page's row, then a row per word. */
export const textLayerTsv = (words: ReadonlyArray<TextWord>, page: number, width: number, height: number) =>
  [
    `1\t${page}\t0\t0\t0\t0\t0\t0\t${width}\t${height}\t-1\t`,
    ...words.map(({ bbox, text }, i) => `5\t${page}\t1\t1\t1\t${i + 1}\t${bbox.x0}\t${bbox.y0}\t${bbox.x1 - bbox.x0}\t${bbox.y1 - bbox.y0}\t100\t${text}`),
    ""
  ].join("\n")
