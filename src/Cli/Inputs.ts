/**
 * The files a client command works on: each path as given, folders expanded (not recursively) to the files of
 * the kind, each with the Content-Type its extension implies and the name of its result. That name is the
 * input's path below the folder all inputs share, so `a/x.png` and `b/x.png` keep one result each.
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Data, Effect } from "effect"

export type Kind = "ocr" | "faces" | "audio"

const types: Record<Kind, Record<string, string>> = {
  ocr: { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff", ".tiff": "image/tiff", ".webp": "image/webp", ".bmp": "image/bmp", ".gif": "image/gif", ".pdf": "application/pdf" },
  faces: { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff" },
  audio: { ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg" }
}

/** The extensions a folder is searched for, for messages. */
export const extensions = (kind: Kind) => Object.keys(types[kind]).join(" ")

/** A path on the command line that cannot be used: missing, unreadable, or an `--out` that is not a folder. */
export class PathUnusable extends Data.TaggedError("PathUnusable")<{ readonly path: string; readonly message: string }> {}

const reasons: Partial<Record<string, string>> = {
  NotFound: "no such file or folder",
  PermissionDenied: "permission denied",
  AlreadyExists: "exists and is not a folder"
}

/** `path: why`, in the words of the error's reason rather than its stack. */
export const unusable = (path: string, error: PlatformError) =>
  new PathUnusable({
    path,
    message: `${path}: ${(error._tag === "SystemError" ? reasons[error.reason] : undefined) ?? error.description ?? error.message}`
  })

export interface Input {
  readonly path: string
  readonly contentType: string
  /** The input's path below the folder all inputs share: its result is `<out>/<name>.json`. */
  readonly name: string
}

export interface Expanded {
  readonly inputs: ReadonlyArray<Input>
  /** Folders given that hold no file of the kind. */
  readonly emptyFolders: ReadonlyArray<string>
}

/** The deepest folder holding every one of `folders` (absolute paths). */
const commonFolder = (path: Path.Path, folders: ReadonlyArray<string>) =>
  folders.reduce((common, folder) => {
    let shared = common
    const outside = (relative: string) => relative === ".." || relative.startsWith(`..${path.sep}`)
    while (shared !== path.dirname(shared) && outside(path.relative(shared, folder))) shared = path.dirname(shared)
    return shared
  })

/**
 * The inputs, in order, each once; a file named explicitly is kept even with an unknown extension (sent as
 * is). A path that does not exist or cannot be read fails the whole command before anything is sent.
 */
export const expand = (kind: Kind, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const typeOf = (file: string) => types[kind][path.extname(file).toLowerCase()]
    const found = new Map<string, Omit<Input, "name">>()
    const folders: Array<string> = []
    const emptyFolders: Array<string> = []
    for (const given of paths) {
      const info = yield* fs.stat(given).pipe(Effect.mapError((error) =>
        // @effect/cli takes an unknown option for one more path.
        given.startsWith("-") ? new PathUnusable({ path: given, message: `${given}: no such option (--help lists them)` }) : unusable(given, error)
      ))
      if (info.type === "Directory") {
        const names = (yield* fs.readDirectory(given).pipe(Effect.mapError((error) => unusable(given, error))))
          .filter((name) => !name.startsWith(".") && typeOf(name) !== undefined).sort()
        if (names.length === 0) emptyFolders.push(given)
        folders.push(path.resolve(given))
        for (const name of names) found.set(path.resolve(given, name), { path: path.join(given, name), contentType: typeOf(name)! })
      } else {
        folders.push(path.dirname(path.resolve(given)))
        found.set(path.resolve(given), { path: given, contentType: typeOf(given) ?? "application/octet-stream" })
      }
    }
    const root = folders.length === 0 ? path.resolve(".") : commonFolder(path, folders)
    const inputs = [...found].map(([absolute, input]): Input => ({ ...input, name: path.relative(root, absolute) }))
    return { inputs, emptyFolders } satisfies Expanded
  })
