/**
 * Multi-page TIFFs for tests, from any images sharp reads: each page 8-bit grey, uncompressed, one strip,
 * written by hand (sharp writes one page per TIFF), so a test can make a document of any length.
 */
import sharp from "sharp"

const entry = (view: DataView, at: number, tag: number, type: 3 | 4, value: number) => {
  view.setUint16(at, tag, true)
  view.setUint16(at + 2, type, true)
  view.setUint32(at + 4, 1, true)
  if (type === 3) view.setUint16(at + 8, value, true)
  else view.setUint32(at + 8, value, true)
}

export const multiPageTiff = async (pages: ReadonlyArray<Uint8Array>) => {
  const grey = await Promise.all(pages.map((page) => sharp(page).greyscale().raw().toBuffer({ resolveWithObject: true })))
  const ifdSize = 2 + 8 * 12 + 4
  const size = 8 + grey.reduce((sum, page) => sum + ifdSize + page.data.length, 0)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  out.set([0x49, 0x49, 42, 0]) // "II", little-endian, 42
  let at = 8
  view.setUint32(4, at, true)
  grey.forEach(({ data, info }, i) => {
    const pixels = at + ifdSize
    view.setUint16(at, 8, true)
    const tags: ReadonlyArray<readonly [number, 3 | 4, number]> = [
      [256, 4, info.width], [257, 4, info.height], [258, 3, 8], [259, 3, 1],
      [262, 3, 1], [273, 4, pixels], [278, 4, info.height], [279, 4, data.length]
    ]
    tags.forEach(([tag, type, value], j) => entry(view, at + 2 + 12 * j, tag, type, value))
    const next = pixels + data.length
    view.setUint32(at + 2 + 8 * 12, i === grey.length - 1 ? 0 : next, true)
    out.set(data, pixels)
    at = next
  })
  return out
}
