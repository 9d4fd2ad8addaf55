/**
 * The files a client command works on: each path as given, folders expanded (not recursively) to the files of
 * the kind, each with the Content-Type its extension implies.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect } from "effect"

export type Kind = "ocr" | "faces" | "audio"

const types: Record<Kind, Record<string, string>> = {
  ocr: { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff", ".tiff": "image/tiff", ".webp": "image/webp", ".bmp": "image/bmp", ".gif": "image/gif" },
  faces: { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff" },
  audio: { ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg" }
}

export interface Input {
  readonly path: string
  readonly contentType: string
}

/** The inputs, in order; a file named explicitly is kept even with an unknown extension (sent as is). */
export const expand = (kind: Kind, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const typeOf = (file: string) => types[kind][path.extname(file).toLowerCase()]
    const inputs: Array<Input> = []
    for (const given of paths) {
      const info = yield* fs.stat(given)
      if (info.type === "Directory") {
        const names = (yield* fs.readDirectory(given)).filter((name) => !name.startsWith(".") && typeOf(name) !== undefined).sort()
        for (const name of names) inputs.push({ path: path.join(given, name), contentType: typeOf(name)! })
      } else {
        inputs.push({ path: given, contentType: typeOf(given) ?? "application/octet-stream" })
      }
    }
    return inputs
  })
