/**
 * `inferd models fetch [--from BASE_URL] [--dir DIR]`: installs the face models. Each file is downloaded (from
 * upstream at its pinned commit, or `BASE_URL/<file>`), checked against its pinned size and sha256 while it
 * streams into a temporary file beside the target, and only then renamed into place: a file under its final
 * name is always whole and verified. Files already present with the right sum are skipped, so it is safe to
 * run again; it exits non-zero if any file failed.
 */
import { Command, Options } from "@effect/cli"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Path from "@effect/platform/Path"
import type { PlatformError } from "@effect/platform/Error"
import { Console, Data, Duration, Effect, Option, Random, Stream } from "effect"
import { createHash } from "node:crypto"
import * as UndiciClient from "./Layers/UndiciClient.js"
import { check, FACE_MODELS, type ModelFile } from "./Layers/Models.js"
import * as AtomicFile from "./AtomicFile.js"
import * as SharedConfig from "./Layers/SharedConfig.js"

/** Why one file could not be installed; `unreachable` names the host when no connection could be made at all. */
class FetchProblem extends Data.TaggedError("FetchProblem")<{ readonly message: string; readonly unreachable?: string }> {}

/** Some files could not be installed (each is named in the report printed before). */
export class ModelsFetchFailed extends Data.TaggedError("ModelsFetchFailed")<{ readonly message: string }> {}

/** What happened to one file: `installed`, `skipped` (already present and intact) or `failed` (with why). */
export interface FetchResult {
  readonly file: string
  readonly result: "installed" | "skipped" | "failed"
  readonly url: string
  readonly detail: string
  /** The host that could not be reached, when that is why it failed. */
  readonly unreachable?: string
}

export interface FetchOptions {
  /** The models folder (created if missing). */
  readonly dir: string
  /** A base URL serving `<file>` for each model, instead of upstream. */
  readonly from?: string
  /** Deadline of each file's download (default 2 minutes). */
  readonly timeout?: Duration.DurationInput
  readonly models?: ReadonlyArray<ModelFile>
}

const urlFor = (model: ModelFile, from: string | undefined) => from === undefined ? model.url : `${from.replace(/\/+$/, "")}/${model.file}`

/** Streams `url` into `file`, checking size and sha256 as it goes. */
const download = (client: HttpClient.HttpClient, model: ModelFile, url: string, file: FileSystem.File) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.filterStatusOk(client).get(url).pipe(Effect.mapError((error) => {
      if (error._tag === "ResponseError") return new FetchProblem({ message: `HTTP ${error.response.status} from ${url}` })
      const host = URL.canParse(url) ? new URL(url).host : url
      return new FetchProblem({ message: `cannot reach ${host} (${UndiciClient.unanswered(error)})`, unreachable: host })
    }))
    const hash = createHash("sha256")
    const bytes = yield* response.stream.pipe(
      Stream.mapError((error) => new FetchProblem({ message: `the download from ${url} broke off: ${error.message}` })),
      Stream.runFoldEffect(0, (total, chunk): Effect.Effect<number, FetchProblem | PlatformError> => {
        // Refused as soon as it is too long: a wrong URL must not fill the disk.
        if (total + chunk.byteLength > model.bytes) return Effect.fail(new FetchProblem({ message: `more than the expected ${model.bytes} bytes` }))
        hash.update(chunk)
        return Effect.as(file.writeAll(chunk), total + chunk.byteLength)
      })
    )
    if (bytes !== model.bytes) return yield* new FetchProblem({ message: `${bytes} bytes, expected ${model.bytes} (truncated?)` })
    const sum = hash.digest("hex")
    if (sum !== model.sha256) return yield* new FetchProblem({ message: `sha256 ${sum}, expected ${model.sha256}` })
  })

/** Installs one file unless it is already there and intact. */
const fetchOne = (model: ModelFile, options: FetchOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const url = urlFor(model, options.from)
    const existing = yield* check(options.dir, model)
    const skipped: FetchResult = { file: model.file, result: "skipped", url, detail: "already present, sha256 verified" }
    if (existing.state === "present") return skipped
    const target = path.join(options.dir, model.file)
    const prefix = `${model.file}.download-`
    // Downloads a killed run left behind never had the final name; they are only clutter.
    for (const name of yield* fs.readDirectory(options.dir)) {
      if (name.startsWith(prefix)) yield* fs.remove(path.join(options.dir, name), { force: true })
    }
    const temp = path.join(options.dir, `${prefix}${(yield* Random.nextIntBetween(0, 2 ** 31)).toString(16)}`)
    const timeout = options.timeout ?? Duration.minutes(2)
    const client = yield* HttpClient.HttpClient
    const atomic = yield* AtomicFile.make
    yield* atomic.write(target, temp, (file) => download(client, model, url, file)).pipe(
      Effect.timeoutFail({ duration: timeout, onTimeout: () => new FetchProblem({ message: `no complete file within ${Duration.format(timeout)}` }) })
    )
    const replaced = existing.state === "invalid" ? ` (replaced a file with ${existing.detail})` : ""
    const installed: FetchResult = { file: model.file, result: "installed", url, detail: `${model.bytes} bytes, sha256 ${model.sha256}${replaced}` }
    return installed
  }).pipe(
    Effect.catchAll((error) =>
      Effect.succeed<FetchResult>({
        file: model.file,
        result: "failed",
        url: urlFor(model, options.from),
        detail: error.message,
        ...(error._tag === "FetchProblem" && error.unreachable !== undefined ? { unreachable: error.unreachable } : {})
      })
    )
  )

/** Installs every face model into `options.dir`, one after another, and says what happened to each. */
export const fetchModels = (options: FetchOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const made = yield* Effect.either(fs.makeDirectory(options.dir, { recursive: true }))
    const models = options.models ?? FACE_MODELS
    if (made._tag === "Left") {
      return models.map((model): FetchResult => ({
        file: model.file,
        result: "failed",
        url: urlFor(model, options.from),
        detail: `cannot create ${options.dir}: ${made.left.message}`
      }))
    }
    return yield* Effect.forEach(models, (model) => fetchOne(model, options))
  })

const from = Options.text("from").pipe(
  Options.withPseudoName("BASE_URL"),
  Options.optional,
  Options.withDescription("download each file from BASE_URL/<file name> (a mirror) instead of its upstream URL")
)
const dir = Options.directory("dir").pipe(
  Options.withPseudoName("DIR"),
  Options.withFallbackConfig(SharedConfig.modelsDir),
  Options.withDescription("the models folder (default: INFERD_MODELS_DIR, else ./models)")
)

/** `models fetch` on whatever HttpClient is provided (`models` gives it undici's). */
export const fetch = Command.make("fetch", { from, dir }, ({ dir, from }) =>
  Effect.gen(function*() {
    const results = yield* fetchModels({ dir, from: Option.getOrUndefined(from) })
    for (const r of results) yield* Console.log(`${r.result.padEnd(9)} ${r.file}  ${r.detail}`)
    const failed = results.filter((r) => r.result === "failed")
    if (failed.length === 0) return
    const hosts = [...new Set(failed.flatMap((r) => r.unreachable === undefined ? [] : [r.unreachable]))]
    const hint = hosts.length === 0 || Option.isSome(from)
      ? ""
      : `. ${hosts.join(", ")} could not be reached: with no access to it, put the files on a server you can reach and run \`inferd models fetch --from BASE_URL\` (each file is fetched as BASE_URL/<file name>)`
    return yield* new ModelsFetchFailed({ message: `${failed.length} of ${results.length} model files failed: ${failed.map((r) => r.file).join(", ")}${hint}` })
  })
).pipe(
  Command.withDescription("download the face models (YuNet, MobileFaceNet), verify their sha256 and install them; exit 0 when every file is in place, 1 otherwise")
)

/** `inferd models …`: the face model files. */
export const models = Command.make("models").pipe(
  Command.withDescription("manage the face model files"),
  Command.withSubcommands([fetch.pipe(Command.provide(UndiciClient.layer))])
)
