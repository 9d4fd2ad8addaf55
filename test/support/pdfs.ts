/**
 * PDFs for tests, made here: scanned pages (an image per page, as a scanner writes them), born-digital text
 * pages, and files built to break a reader.
 */
import { PDFDocument, StandardFonts } from "pdf-lib"
import { deflateSync } from "node:zlib"

export type PageSpec =
  | { readonly kind: "png" | "jpeg"; readonly image: Uint8Array; readonly dpi: number; readonly rotate?: number }
  | { readonly kind: "text"; readonly lines: ReadonlyArray<string> }

/** One page per spec: an image filling a page sized from its dpi, or lines of Helvetica on A4. */
export const makePdf = async (pages: ReadonlyArray<PageSpec>): Promise<Uint8Array> => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  for (const spec of pages) {
    if (spec.kind === "text") {
      const page = doc.addPage([595, 842])
      spec.lines.forEach((line, i) => page.drawText(line, { x: 56, y: 780 - i * 20, size: 12, font }))
      continue
    }
    const image = spec.kind === "png" ? await doc.embedPng(spec.image) : await doc.embedJpg(spec.image)
    const width = (image.width * 72) / spec.dpi
    const height = (image.height * 72) / spec.dpi
    const page = doc.addPage([width, height])
    page.drawImage(image, { x: 0, y: 0, width, height })
  }
  return doc.save()
}

/** A PDF of raw object bodies (object 1 the catalog, 2 the page tree) with a correct cross-reference table. */
export const rawPdf = (objects: ReadonlyArray<string | Buffer>, trailer = ""): Uint8Array => {
  const parts: Array<Buffer> = [Buffer.from("%PDF-1.7\n", "latin1")]
  const offsets: Array<number> = []
  let length = parts[0]!.length
  objects.forEach((body, i) => {
    offsets.push(length)
    const chunk = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), Buffer.isBuffer(body) ? body : Buffer.from(body, "latin1"), Buffer.from("\nendobj\n")])
    parts.push(chunk)
    length += chunk.length
  })
  const entries = offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")
  parts.push(Buffer.from(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${entries}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${trailer}>>\nstartxref\n${length}\n%%EOF\n`))
  return new Uint8Array(Buffer.concat(parts))
}

const stream = (dictionary: string, data: Buffer) =>
  Buffer.concat([Buffer.from(`<< ${dictionary} /Length ${data.length} >>\nstream\n`), data, Buffer.from("\nendstream")])

const catalog = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]

/** A one-page PDF with a line of Helvetica, made without pdf-lib (synchronously, as fuzz seeds are). */
export const textPagePdf = (line: string) =>
  rawPdf([
    ...catalog,
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    stream("", Buffer.from(`BT /F1 12 Tf 10 50 Td (${line}) Tj ET`)),
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
  ])

/** PDFs built to exhaust or break a reader, each small. */
export const bombs = {
  /** A 14400-point square page: 60000x60000 pixels at 300 dpi. */
  hugePage: () => rawPdf([...catalog, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R >>", stream("", Buffer.from("0 0 m 10 10 l S"))]),
  /** Arrays nested 100 000 deep. */
  deepArrays: () =>
    rawPdf([...catalog, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 4 0 R /Foo ${"[".repeat(100_000)}${"]".repeat(100_000)} >>`, stream("", Buffer.from("0 0 m 10 10 l S"))]),
  /** Form XObjects each drawing the next, 20 000 deep: pdf.js recurses through them and overflows its stack. */
  deepForms: () => {
    const forms = Array.from({ length: 20_000 }, (_, i) =>
      stream(`/Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /XObject << /F ${i + 6} 0 R >> >>`, Buffer.from(i < 19_999 ? "/F Do" : "0 0 m 1 1 l S")))
    return rawPdf([...catalog, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 4 0 R /Resources << /XObject << /F 5 0 R >> >> >>", stream("", Buffer.from("/F Do")), ...forms])
  },
  /** Two million line segments in a 120 KB stream. */
  paths: () => {
    const ops = Array.from({ length: 2_000_000 }, (_, i) => `${i % 500} ${(i * 7) % 500} l`).join(" ")
    return rawPdf([...catalog, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 500 500] /Contents 4 0 R >>", stream("/Filter /FlateDecode", deflateSync(Buffer.from(`0 0 m ${ops} S`)))])
  },
  /** Encrypted with a user password (not the empty one): readers ask for it. */
  encrypted: () => {
    const hex = (byte: string) => `<${byte.repeat(32)}>`
    return rawPdf(
      [...catalog, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>"],
      `/Encrypt << /Filter /Standard /V 1 /R 2 /O ${hex("ab")} /U ${hex("cd")} /P -4 >> /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] `
    )
  },
  /** 201 empty pages: one more than INFERD_MAX_PAGES allows by default. */
  manyPages: () => {
    const kids = Array.from({ length: 201 }, (_, i) => `${i + 3} 0 R`).join(" ")
    const pages = Array.from({ length: 201 }, () => "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>")
    return rawPdf(["<< /Type /Catalog /Pages 2 0 R >>", `<< /Type /Pages /Kids [${kids}] /Count 201 >>`, ...pages])
  },
  /** Nothing after the header but garbage. */
  garbage: () => new Uint8Array(Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(4000, 0x41)]))
}
