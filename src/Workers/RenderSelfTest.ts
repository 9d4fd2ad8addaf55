/**
 * A two-page PDF for the renderer's self-test, built here rather than shipped: a page of black text in a
 * standard font, and a page holding a 16x16 JPEG 2000 image (a black square on white).
 */

/** The 16x16 JPEG 2000 codestream. */
const j2k = "/0//UQAyAAAAAAAQAAAAEAAAAAAAAAAAAAAAEAAAABAAAAAAAAAAAAAEBwEBBwEBBwEBBwEB/1IADAAAAAEBAAQEAAH/XAAEQED/ZAAlAAFDcmVhdGVkIGJ5IE9wZW5KUEVHIHZlcnNpb24gMi41LjD/kAAKAAAAAACQAAH/k9+DmHiZDMZCquOesuwUzdv8rk3WAeQwAAMJCXL/HiAAAwkJSBMAYR5inEfcpoj7lNEhL4wcAAAYRzj/D9FOEfcpokJfGDgAADCOcf4/RThH3KaJCXxg4AAAwjnH+P0U4R9ymiQl8YOAAAMI5x/j9FOEfcpokJeAgM+0HBQAXK/fHX//2Q=="

/** A PDF of `objects` (object 1 is the catalog) with a correct cross-reference table. */
const build = (objects: ReadonlyArray<Uint8Array>): Uint8Array => {
  const encoder = new TextEncoder()
  const parts: Array<Uint8Array> = [encoder.encode("%PDF-1.7\n")]
  const offsets: Array<number> = []
  let length = parts[0]!.byteLength
  objects.forEach((body, i) => {
    offsets.push(length)
    for (const part of [encoder.encode(`${i + 1} 0 obj\n`), body, encoder.encode("\nendobj\n")]) {
      parts.push(part)
      length += part.byteLength
    }
  })
  const entries = offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")
  parts.push(encoder.encode(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${entries}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`))
  return Buffer.concat(parts)
}

const stream = (dictionary: string, data: Uint8Array) =>
  Buffer.concat([Buffer.from(`<< ${dictionary} /Length ${data.byteLength} >>\nstream\n`, "latin1"), data, Buffer.from("\nendstream", "latin1")])

const text = (body: string) => new TextEncoder().encode(body)

export const selfTestPdf = (): Uint8Array =>
  build([
    text("<< /Type /Catalog /Pages 2 0 R >>"),
    text("<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>"),
    text("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Contents 4 0 R /Resources << /Font << /F1 7 0 R >> >> >>"),
    stream("", text("BT /F1 48 Tf 4 16 Td (HI) Tj ET")),
    text("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Contents 6 0 R /Resources << /XObject << /Im0 8 0 R >> >> >>"),
    stream("", text("q 72 0 0 72 0 0 cm /Im0 Do Q")),
    text("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"),
    stream("/Type /XObject /Subtype /Image /Width 16 /Height 16 /Filter /JPXDecode", Buffer.from(j2k, "base64"))
  ])
