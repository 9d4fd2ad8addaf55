/**
 * How deep a PDF's pages nest forms (XObjects drawing XObjects), read with pdf-lib before pdf.js draws anything:
 * pdf.js follows such a chain by promise recursion, and a chain thousands deep overflows its stack inside
 * promise callbacks, where nothing catches it; the page then takes many seconds, or never settles. Real
 * documents nest a handful deep.
 */
import { Effect } from "effect"
import { PDFDict, PDFDocument, PDFName, PDFStream } from "pdf-lib"

/** Forms nested deeper than this make a document too complex to read. */
export const maxFormDepth = 64

/**
 * The deepest nesting of forms over every page, counted up to one past `maxFormDepth`; `undefined` when pdf-lib
 * cannot parse the file (pdf.js, more lenient, is left to judge it).
 */
export const formDepth = (bytes: Uint8Array): Effect.Effect<number | undefined> =>
  Effect.tryPromise(() => PDFDocument.load(bytes, { ignoreEncryption: true, updateMetadata: false, throwOnInvalidObject: false })).pipe(
    Effect.flatMap((document) =>
      Effect.try(() => {
        let deepest = 0
        const seen = new Set<unknown>()
        for (const page of document.getPages()) {
          const stack: Array<readonly [PDFDict | undefined, number]> = [[page.node.Resources(), 1]]
          while (stack.length > 0 && deepest <= maxFormDepth) {
            const [resources, depth] = stack.pop()!
            deepest = Math.max(deepest, depth)
            const xobjects = resources?.lookupMaybe(PDFName.of("XObject"), PDFDict)
            for (const [, ref] of xobjects?.entries() ?? []) {
              if (seen.has(ref)) continue
              seen.add(ref)
              const xobject = document.context.lookup(ref)
              if (xobject instanceof PDFStream && xobject.dict.get(PDFName.of("Subtype")) === PDFName.of("Form")) {
                stack.push([xobject.dict.lookupMaybe(PDFName.of("Resources"), PDFDict), depth + 1])
              }
            }
          }
        }
        return deepest
      })
    ),
    // A file pdf-lib cannot parse (or whose page tree overflows its own recursion) is pdf.js's to judge.
    Effect.orElseSucceed(() => undefined)
  )
