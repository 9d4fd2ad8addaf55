/**
 * `inferd ocr|faces|audio <file|dir...>`: sends each input to a running daemon (or, with `--local`, to a worker
 * pool in this process), writes one `<name>.json` per input into `--out`, shows progress on a terminal and
 * prints JSON lines with `--json`. Exit codes: 0 all done, 1 some inputs failed, 3 the server is unreachable.
 */
import { Args, Command, Options } from "@effect/cli"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Path from "@effect/platform/Path"
import { Console, Data, Effect, Layer, Option, Redacted } from "effect"
import * as CpuLimit from "../Layers/CpuLimit.js"
import * as UndiciClient from "../Layers/UndiciClient.js"
import * as Tasks from "../Layers/Tasks.js"
import * as WorkerPool from "../Layers/WorkerPool.js"
import { FACE_DEFAULTS } from "../Workers/Protocol.js"
import { expand, type Input, type Kind } from "./Inputs.js"
import * as Progress from "./Progress.js"

/** Some inputs could not be processed (each is reported; the others were written). */
export class BatchFailed extends Data.TaggedError("BatchFailed")<{ readonly failed: number; readonly total: number }> {}

/** No daemon answers at `--server`. */
export class ServerUnreachable extends Data.TaggedError("ServerUnreachable")<{ readonly server: string; readonly message: string }> {}

/** One input's failure: the daemon's typed error body, or what went wrong reaching it. */
class InputFailed extends Data.TaggedError("InputFailed")<{ readonly error: unknown }> {}

const routes: Record<Kind, string> = { ocr: "/v1/ocr", faces: "/v1/faces/detect", audio: "/v1/audio/analyze" }

type Runner = (kind: Kind, bytes: Uint8Array, input: Input) => Effect.Effect<unknown, InputFailed>

const remote = (server: string, token: Option.Option<Redacted.Redacted>) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    yield* client.get(`${server}/health/live`).pipe(
      Effect.timeout("5 seconds"),
      Effect.catchAll((cause) => new ServerUnreachable({ server, message: `no inferd answers at ${server}: ${String(cause)}` }))
    )
    const run: Runner = (kind, bytes, input) =>
      client.execute(HttpClientRequest.post(`${server}${routes[kind]}`).pipe(
        HttpClientRequest.bodyUint8Array(bytes, input.contentType),
        Option.isSome(token) ? HttpClientRequest.bearerToken(Redacted.value(token.value)) : (r) => r
      )).pipe(
        Effect.flatMap((response) => Effect.map(response.json, (body) => ({ ok: response.status < 400, body }))),
        Effect.mapError((cause) => new InputFailed({ error: { _tag: "RequestFailed", message: String(cause) } })),
        Effect.flatMap(({ ok, body }) => ok ? Effect.succeed(body) : Effect.fail(new InputFailed({ error: body })))
      )
    return run
  })

const local = Effect.gen(function*() {
  const pool = yield* WorkerPool.WorkerPool
  const run: Runner = (kind, bytes) => {
    const task = kind === "ocr"
      ? Tasks.ocr(bytes)
      : kind === "faces"
      ? Tasks.detectFaces(bytes, { ...FACE_DEFAULTS, embed: false })
      : Tasks.analyzeAudio(bytes, { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 })
    return pool.submit<unknown, unknown>(task).pipe(Effect.mapError((error) => new InputFailed({ error })))
  }
  return run
})

const paths = Args.text({ name: "file|dir" }).pipe(Args.atLeast(1))
const options = {
  server: Options.text("server").pipe(Options.withDefault("http://127.0.0.1:8080"), Options.withDescription("the daemon to use")),
  out: Options.text("out").pipe(Options.withDefault("."), Options.withDescription("folder for one <name>.json per input")),
  json: Options.boolean("json").pipe(Options.withDescription("print one JSON line per input on stdout")),
  local: Options.boolean("local").pipe(Options.withDescription("run a worker pool in this process instead of calling a daemon")),
  concurrency: Options.integer("concurrency").pipe(Options.withDefault(4), Options.withDescription("inputs in flight at once")),
  token: Options.redacted("token").pipe(Options.optional, Options.withDescription("bearer token (INFERD_API_TOKEN of the daemon)"))
}

const batch = (kind: Kind, run: Runner, inputs: ReadonlyArray<Input>, out: string, json: boolean, concurrency: number) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(out, { recursive: true })
    const progress = yield* Progress.make(inputs.length)
    yield* Effect.forEach(inputs, (input) =>
      Effect.gen(function*() {
        const bytes = yield* fs.readFile(input.path)
        const result = yield* Effect.either(run(kind, bytes, input))
        const ok = result._tag === "Right"
        const body = ok ? result.right : result.left.error
        const target = path.join(out, `${path.basename(input.path)}${ok ? "" : ".error"}.json`)
        yield* fs.writeFileString(target, JSON.stringify(body, null, 2) + "\n")
        if (json) yield* Console.log(JSON.stringify({ file: input.path, ok, output: target, [ok ? "result" : "error"]: body }))
        else if (!ok) yield* Console.error(`${input.path}: ${JSON.stringify(body)}`)
        yield* progress.tick(ok)
      }), { concurrency, discard: true })
    const { done, failed } = yield* progress.summary
    if (!json) yield* Console.error(`${done - failed} of ${done} done, results in ${out}`)
    if (failed > 0) return yield* new BatchFailed({ failed, total: done })
  })

const command = (kind: Kind, description: string) =>
  Command.make(kind, { paths, ...options }, (o) =>
    Effect.gen(function*() {
      const inputs = yield* expand(kind, o.paths)
      if (o.local) {
        return yield* Effect.flatMap(local, (run) => batch(kind, run, inputs, o.out, o.json, o.concurrency)).pipe(
          Effect.provide(WorkerPool.layer.pipe(Layer.provide(CpuLimit.layer)))
        )
      }
      const run = yield* remote(o.server.replace(/\/$/, ""), o.token)
      return yield* batch(kind, run, inputs, o.out, o.json, o.concurrency)
    }).pipe(Effect.provide(UndiciClient.layer))
  ).pipe(Command.withDescription(description))

export const ocr = command("ocr", "OCR images (files or folders of them)")
export const faces = command("faces", "detect faces in images (files or folders of them)")
export const audio = command("audio", "find speech in audio files (files or folders of them)")
