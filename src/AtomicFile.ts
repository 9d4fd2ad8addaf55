/**
 * Writing a file so that a crash leaves the old file or the new one, never part of one: the bytes go to a
 * temporary file on the same filesystem, are synced, and the temporary file is renamed over the target (a
 * rename is atomic); then the folder is synced, since the rename itself is durable only once it is. A write
 * that fails removes its temporary file. The gallery, the inbox's results and `models fetch` all write so.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as Path from "@effect/platform/Path"
import { Effect } from "effect"

export interface AtomicFile {
  /**
   * Writes `target` through `temp` (a path beside it, or in a folder on the same filesystem): `fill` writes
   * the open temporary file, which is then synced and renamed into place.
   */
  readonly write: <E>(target: string, temp: string, fill: (file: FileSystem.File) => Effect.Effect<unknown, E>) => Effect.Effect<void, E | PlatformError>
  /** Writes `bytes` to `target` through `temp`, as `write` does. */
  readonly writeBytes: (target: string, temp: string, bytes: Uint8Array) => Effect.Effect<void, PlatformError>
}

export const make: Effect.Effect<AtomicFile, never, FileSystem.FileSystem | Path.Path> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const write = <E>(target: string, temp: string, fill: (file: FileSystem.File) => Effect.Effect<unknown, E>) =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "w" })
        yield* fill(file)
        yield* file.sync
      }))
      yield* fs.rename(temp, target)
      // Not every platform can open a folder to sync it; the file is in place either way.
      yield* Effect.scoped(Effect.flatMap(fs.open(path.dirname(target), { flag: "r" }), (folder) => folder.sync)).pipe(Effect.ignore)
    }).pipe(Effect.onError(() => Effect.ignore(fs.remove(temp, { force: true }))))
  return { write, writeBytes: (target, temp, bytes) => write(target, temp, (file) => file.writeAll(bytes)) }
})
