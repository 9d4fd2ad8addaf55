/** Multi-page TIFFs for tests, from any images sharp reads: each page grey, fitted on a white 640×480 sheet. */
import sharp from "sharp"

export const multiPageTiff = async (pages: ReadonlyArray<Uint8Array>) => {
  const sheets = await Promise.all(pages.map((page) => sharp(page).resize(640, 480, { fit: "contain", background: "#fff" }).greyscale().png().toBuffer()))
  return new Uint8Array(await sharp(sheets, { join: { animated: true } }).tiff().toBuffer())
}
