/** Messages between a worker and its PDF renderer thread (Render.ts, Pdf.ts): plain structured-clone values. */
import type { BoundingBox } from "./Protocol.js"

export interface TextWord {
  readonly text: string
  readonly bbox: typeof BoundingBox.Type
}

export type RenderRequest =
  | { readonly id: number; readonly op: "inspect"; readonly document: Uint8Array; readonly maxPixels: number }
  | {
    readonly id: number
    readonly op: "page"
    readonly document: Uint8Array
    readonly page: number
    readonly dpi: number
    readonly maxPixels: number
    /** Answer from the page's text layer when it has one (OCR not forced). */
    readonly textLayer: boolean
  }
  | { readonly id: number; readonly op: "selftest" }

export type Rendered =
  | { readonly kind: "text"; readonly width: number; readonly height: number; readonly text: string; readonly words: ReadonlyArray<TextWord> }
  | { readonly kind: "image"; readonly width: number; readonly height: number; readonly pixels: Uint8Array }

export type RenderFailure =
  | { readonly reason: "encrypted" | "malformed" | "too-complex" | "broken"; readonly message: string }
  | { readonly reason: "too-large"; readonly message: string; readonly width: number; readonly height: number }

export type RenderReply =
  | { readonly id: number; readonly ok: true; readonly value: { readonly pages: number } | Rendered | { readonly ok: true } }
  | { readonly id: number; readonly ok: false; readonly error: RenderFailure }
