/**
 * `inferd ocr|faces|audio <file|dir...>`: sends each input to a running daemon (or, with `--local`, to a worker
 * pool in this process), writes one `<name>.json` per input into `--out` (the input's path below the folder the
 * inputs share; `ocr --format text|hocr|tsv|pdf` writes `<name>.txt`, `.hocr`, `.tsv`, `.pdf`), shows progress on
 * a terminal and prints JSON lines with `--json`. Each command's other flags are its route's query options
 * (RouteOptions.ts).
 */
import { Args, Command, HelpDoc, Options } from "@effect/cli"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Path from "@effect/platform/Path"
import { Array as Arr, Config, Console, Data, Effect, Layer, Option, Predicate, Redacted } from "effect"
import * as CpuLimit from "../Layers/CpuLimit.js"
import * as UndiciClient from "../Layers/UndiciClient.js"
import * as OcrDocument from "../Layers/OcrDocument.js"
import * as Tasks from "../Pool/Tasks.js"
import * as WorkerPool from "../Pool/WorkerPool.js"
import type { OcrFormat } from "../Workers/Protocol.js"
import { expand, extensions, type Input, type Kind, unusable } from "./Inputs.js"
import * as Progress from "./Progress.js"
import * as RouteOptions from "./RouteOptions.js"

/** Some inputs could not be processed, or a folder held none (each is reported; the others were written). */
export class BatchFailed extends Data.TaggedError("BatchFailed")<{ readonly message: string }> {}

/** No daemon answers at `--server`. */
export class ServerUnreachable extends Data.TaggedError("ServerUnreachable")<{ readonly server: string; readonly message: string }> {}

/** The daemon answered 401: no token, or not its token. Nothing further is sent. */
export class TokenRefused extends Data.TaggedError("TokenRefused")<{ readonly server: string; readonly message: string }> {}

/** One input's failure: the daemon's typed error body, or what went wrong reaching it. */
class InputFailed extends Data.TaggedError("InputFailed")<{ readonly error: unknown }> {}

/** What the exit codes mean; `--help` shows it and `Main` applies it. */
export const EXIT_CODES = [
  ["0", "every input has its result"],
  ["1", "some inputs failed (each has <name>.error.json), or a folder held no input"],
  ["2", "wrong usage: a missing argument, an unknown option or a value out of its range, a path that does not exist, an --out that is not a folder"],
  ["3", "no daemon answers at --server"],
  ["4", "the daemon refused the token (401): set INFERD_API_TOKEN or --token"]
] as const

const routes: Record<Kind, string> = { ocr: "/v1/ocr", faces: "/v1/faces/detect", audio: "/v1/audio/analyze" }

/** An input's answer: JSON, or the bytes of the format asked for. */
type Answer = { readonly json: unknown } | { readonly bytes: Uint8Array }

type Runner = (bytes: Uint8Array, input: Input) => Effect.Effect<Answer, InputFailed | TokenRefused>

/** What a result is written as: `ocr --format`'s choice, else JSON. */
const formatOf = (settings: RouteOptions.Settings): OcrFormat => settings.kind === "ocr" ? settings.options.format : "json"

const remote = (server: string, token: Option.Option<Redacted.Redacted>, settings: RouteOptions.Settings) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    yield* client.get(`${server}/health/live`).pipe(
      Effect.mapError(UndiciClient.unanswered),
      Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "no answer within 5 s" }),
      Effect.catchAll((why) => new ServerUnreachable({ server, message: `no inferd answers at ${server} (${why})` }))
    )
    const refused = new TokenRefused({
      server,
      message: `${server} answered 401 Unauthorized: ${Option.isSome(token) ? "it refused the token" : "it needs a token"} (set INFERD_API_TOKEN or pass --token)`
    })
    const url = `${server}${routes[settings.kind]}`
    const run: Runner = (bytes, input) =>
      client.execute(HttpClientRequest.post(url).pipe(
        HttpClientRequest.setUrlParams(settings.query),
        HttpClientRequest.bodyUint8Array(bytes, input.contentType),
        Option.isSome(token) ? HttpClientRequest.bearerToken(Redacted.value(token.value)) : (r) => r
      )).pipe(
        Effect.flatMap((response) =>
          Effect.map(response.arrayBuffer, (body) => ({ status: response.status, type: response.headers["content-type"] ?? "", body: new Uint8Array(body) }))),
        Effect.mapError((error) => new InputFailed({ error: { _tag: "RequestFailed", message: UndiciClient.unanswered(error) } })),
        Effect.flatMap(({ body, status, type }): Effect.Effect<Answer, InputFailed | TokenRefused> => {
          const json = (): unknown => type.startsWith("application/json") ? JSON.parse(new TextDecoder().decode(body)) : { _tag: "RequestFailed", message: `HTTP ${status}` }
          if (status === 401) return Effect.fail(refused)
          if (status >= 400) return Effect.fail(new InputFailed({ error: json() }))
          return Effect.succeed(formatOf(settings) !== "json" ? { bytes: body } : { json: json() })
        })
      )
    return run
  })

/** The task of one input on this process's pool, with the options the route would give it. */
const task = (pool: WorkerPool.WorkerPool["Type"], maxPages: number, settings: RouteOptions.Settings, bytes: Uint8Array): Effect.Effect<Answer, unknown> => {
  switch (settings.kind) {
    case "ocr": {
      const { timeoutMs, ...ocr } = settings.options
      return Effect.flatMap(OcrDocument.read(pool, bytes, { maxPages, ocr, timeout: timeoutMs }), (read): Effect.Effect<Answer, unknown> =>
        ocr.format === "json"
          ? Effect.succeed({ json: read.result })
          : Effect.map(OcrDocument.output(pool, read, ocr.format), ({ body }) => ({ bytes: typeof body === "string" ? new TextEncoder().encode(body) : body })))
    }
    case "faces": {
      const { model, minScore, timeoutMs } = settings.options
      return Effect.map(pool.submit<unknown, unknown>(Tasks.detectFaces(bytes, { model, minScore, embed: false }), { timeout: timeoutMs }), (json) => ({ json }))
    }
    case "audio": {
      const { timeoutMs, ...vad } = settings.options
      return Effect.map(pool.submit<unknown, unknown>(Tasks.analyzeAudio(bytes, vad), { timeout: timeoutMs }), (json) => ({ json }))
    }
  }
}

const local = (settings: RouteOptions.Settings) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool.WorkerPool
    const maxPages = yield* OcrDocument.maxPages
    const run: Runner = (bytes) => Effect.mapError(task(pool, maxPages, settings, bytes), (error) => new InputFailed({ error }))
    return run
  })

const paths = Args.text({ name: "file|dir" }).pipe(Args.atLeast(1), Args.withDescription("files, or folders whose files of the kind are read (not recursively)"))
const options = {
  server: Options.text("server").pipe(Options.withPseudoName("URL"), Options.withDefault("http://127.0.0.1:8080"), Options.withDescription("the daemon to use (default http://127.0.0.1:8080)")),
  out: Options.text("out").pipe(Options.withPseudoName("DIR"), Options.withDefault("."), Options.withDescription("folder for one <name>.json per input, mirroring the inputs' folders (default: the current folder)")),
  json: Options.boolean("json").pipe(Options.withDescription("print one JSON line per input on stdout (default: off)")),
  local: Options.boolean("local").pipe(Options.withDescription("run a worker pool in this process instead of calling a daemon (default: off)")),
  concurrency: Options.integer("concurrency").pipe(
    Options.withPseudoName("N"),
    Options.withDefault(4),
    Options.filterMap((n) => n >= 1 ? Option.some(n) : Option.none(), "--concurrency must be at least 1"),
    Options.withDescription("inputs in flight at once (default 4)")
  ),
  token: Options.redacted("token").pipe(
    Options.withPseudoName("TOKEN"),
    Options.withFallbackConfig(Config.redacted("INFERD_API_TOKEN")),
    Options.optional,
    Options.withDescription("bearer token for a daemon started with INFERD_API_TOKEN (default: INFERD_API_TOKEN, else none)")
  )
}

/** `_tag: message` of a typed error body, else the body as JSON: one line either way. */
const describe = (error: unknown) =>
  Predicate.hasProperty(error, "_tag") && Predicate.hasProperty(error, "message") ? `${String(error._tag)}: ${String(error.message)}` : JSON.stringify(error)

interface BatchOptions {
  readonly out: string
  readonly json: boolean
  readonly concurrency: number
  readonly format: OcrFormat
}

const batch = (run: Runner, inputs: ReadonlyArray<Input>, o: BatchOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const progress = yield* Progress.make(inputs.length)
    const one = (input: Input) =>
      Effect.gen(function*() {
        const result = yield* fs.readFile(input.path).pipe(
          Effect.mapError((error) => new InputFailed({ error: { _tag: "Unreadable", message: unusable(input.path, error).message } })),
          Effect.flatMap((bytes) => run(bytes, input)),
          Effect.map((answer) => ({ ok: true, body: "json" in answer ? answer.json : answer.bytes })),
          Effect.catchTag("InputFailed", (failure) => Effect.succeed({ ok: false, body: failure.error }))
        )
        const extension = OcrDocument.extensions[o.format]
        const target = path.join(o.out, result.ok ? `${input.name}.${extension}` : `${input.name}.error.json`)
        const contents = result.body instanceof Uint8Array ? result.body : new TextEncoder().encode(JSON.stringify(result.body, null, 2) + "\n")
        yield* fs.makeDirectory(path.dirname(target), { recursive: true }).pipe(
          Effect.zipRight(fs.writeFile(target, contents)),
          Effect.mapError((error) => unusable(target, error))
        )
        const shown = result.body instanceof Uint8Array ? undefined : result.body
        if (o.json) yield* Console.log(JSON.stringify({ file: input.path, ok: result.ok, output: target, [result.ok ? "result" : "error"]: shown }))
        else if (!result.ok) yield* progress.message(`${input.path}: ${describe(result.body)}`)
        yield* progress.tick(result.ok)
      })
    yield* Effect.forEach(inputs, one, { concurrency: o.concurrency, discard: true }).pipe(Effect.ensuring(progress.close))
    return yield* progress.summary
  })

const command = <K extends Kind>(kind: K, noun: string, description: string) =>
  Command.make(kind, { paths, ...options, flags: RouteOptions.flags[kind] }, (o) =>
    Effect.gen(function*() {
      const settings = yield* RouteOptions.settle(kind, o.flags)
      const { emptyFolders, inputs } = yield* expand(kind, o.paths)
      // Before anything is sent: an --out that cannot be a folder would waste every answer.
      yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeDirectory(o.out, { recursive: true })).pipe(
        Effect.mapError((error) => unusable(o.out, error))
      )
      for (const folder of emptyFolders) yield* Console.error(`warning: ${folder} holds no ${noun} (${extensions(kind)})`)
      const batchOptions = { ...o, format: formatOf(settings) }
      const run = o.local
        ? Effect.flatMap(local(settings), (runner) => batch(runner, inputs, batchOptions)).pipe(Effect.provide(WorkerPool.layer.pipe(Layer.provide(CpuLimit.layer))))
        : Effect.flatMap(remote(o.server.replace(/\/+$/, ""), o.token, settings), (runner) => batch(runner, inputs, batchOptions))
      const { done, failed } = inputs.length === 0 ? { done: 0, failed: 0 } : yield* run
      if (!o.json && done > 0) yield* Console.error(`${done - failed} of ${done} done, results in ${o.out}`)
      if (failed > 0) return yield* new BatchFailed({ message: `${failed} of ${done} inputs failed` })
      if (emptyFolders.length > 0) return yield* new BatchFailed({ message: `no ${noun} in ${emptyFolders.join(", ")}` })
    }).pipe(Effect.provide(UndiciClient.layer))
  ).pipe(Command.withDescription(HelpDoc.blocks([
    HelpDoc.p(description),
    HelpDoc.h2("EXIT CODES"),
    HelpDoc.descriptionList(Arr.map(EXIT_CODES, ([code, meaning]) => [HelpDoc.getSpan(HelpDoc.p(code)), HelpDoc.p(meaning)] as const))
  ])))

export const ocr = command("ocr", "images or PDFs", "OCR images and PDFs, every page (files or folders of them)")
export const faces = command("faces", "images", "detect faces in images (files or folders of them)")
export const audio = command("audio", "audio files", "find speech in audio files (files or folders of them)")
