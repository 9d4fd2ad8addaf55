/**
 * The configuration keys more than one part of the daemon reads, each read here once with its one default:
 * the data folder (the gallery, the jobs store), the models folder (the workers, `/status`, `models fetch`)
 * and the upload limit (HTTP, and the inbox, which takes no file HTTP would refuse).
 */
import { Config } from "effect"
import * as path from "node:path"

/** `INFERD_DATA_DIR` (default `./var`), as an absolute path. */
export const dataDir = Config.string("INFERD_DATA_DIR").pipe(
  Config.withDefault("./var"),
  Config.map((dir) => path.resolve(dir)),
  Config.withDescription("folder for the gallery (gallery.json) and the jobs store (jobs.db)")
)

/** `INFERD_MODELS_DIR` (default `./models`): where the face models are, as an absolute path. */
export const modelsDir = Config.string("INFERD_MODELS_DIR").pipe(
  Config.withDefault("./models"),
  Config.map((dir) => path.resolve(dir)),
  Config.withDescription("folder the face models are read from")
)

/** `INFERD_MAX_BODY` (default 20 MiB): bytes of one upload. */
export const maxBody = Config.integer("INFERD_MAX_BODY").pipe(
  Config.withDefault(20 * 1024 * 1024),
  Config.withDescription("bytes of one upload (a request body or an uploaded file)")
)
