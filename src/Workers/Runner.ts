/**
 * The worker thread's side of the pool's protocol (Protocol.ts's ToWorker and FromWorker): each request is
 * decoded with its class, run by its handler on the thread's runtime, and answered through its own schemas.
 * Plain message handling rather than the platform's WorkerRunner, whose per-request union decoding, fiber
 * bookkeeping and effectful encoding cost this thread about twice the whole round trip measured here
 * (sequential echo: 30–48 µs through the runner, 19–22 µs this way, bench/dispatch.mjs's machine).
 */
import * as Transferable from "@effect/platform/Transferable"
import { Cause, Effect, Either, Exit, type ParseResult, Runtime, Schema, Tracer } from "effect"
import { MessageChannel, type MessagePort } from "node:worker_threads"
import { type FromWorker, type ToWorker, WorkerRequest } from "./Protocol.js"

/** The buffers an answer moves to the main thread, as the platform's Transferable schemas collect them. */
type Transfers = ReturnType<Transferable.CollectorService["unsafeRead"]>

/**
 * A request's answer, encoded: 0 and its success, 1 and its failure, 2 and a defect; with the buffers its
 * encoding moves rather than copies (a searchable PDF's bytes).
 */
export type Answer = readonly [kind: 0 | 1 | 2, value: unknown, transfers: Transfers]

const decodeRequest = Schema.decodeUnknownEither(WorkerRequest)
const encodeDefect = Schema.encodeSync(Schema.Defect)

// A port whose other end is closed: a buffer transferred into it is detached here and freed at once.
const { port1: sink, port2: closed } = new MessageChannel()
closed.close()

/**
 * Frees an input's bytes as soon as its task is done. V8 counts a transferred buffer as this thread's external
 * memory and frees it only in a full collection: on a thread with its engines loaded, 8 MB inputs brought a
 * mark-compact every second task, 4–6 ms each (median echo of 8 MB: 4.7–6.3 ms kept, 0.7–0.8 ms freed).
 */
const free = (input: Uint8Array | undefined) =>
  Effect.sync(() => {
    if (input !== undefined && input.buffer instanceof ArrayBuffer && input.buffer.byteLength > 0) sink.postMessage(null, [input.buffer])
  })

/**
 * Runs a request's handler and encodes what it ends with by the request's own success and failure schemas;
 * then frees `input`, which nothing may use once the handler is done.
 */
export const answer = <A, I, E, EI, R>(request: Schema.WithResult<A, I, E, EI, never>, handler: Effect.Effect<A, E, R>, input?: Uint8Array): Effect.Effect<Answer, never, R> => {
  const collector = Transferable.unsafeMakeCollector()
  const encoded = (kind: 0 | 1, encode: Effect.Effect<unknown, ParseResult.ParseError>) =>
    Effect.map(Effect.provideService(encode, Transferable.Collector, collector), (value): Answer => [kind, value, collector.unsafeRead()])
  return Effect.matchCauseEffect(handler, {
    onSuccess: (value) => encoded(0, Schema.serializeSuccess(request, value)),
    onFailure: (cause) =>
      Either.match(Cause.failureOrCause(cause), {
        onLeft: (error) => encoded(1, Schema.serializeFailure(request, error)),
        onRight: (defect) => Effect.succeed<Answer>([2, encodeDefect(Cause.squash(defect)), []])
      })
  }).pipe(
    // A result its own schema cannot encode is this program's mistake: the caller gets it as a defect.
    Effect.catchAll((error: ParseResult.ParseError) => Effect.succeed<Answer>([2, encodeDefect(error), []])),
    Effect.ensuring(free(input))
  )
}

/**
 * Serves requests from the main thread until it sends `"close"`, then runs `close` (which releases the
 * engines and ends the thread). Tells the main thread it is ready first.
 */
export const serve = <R>(port: MessagePort, runtime: Runtime.Runtime<R>, handle: (request: WorkerRequest) => Effect.Effect<Answer, never, R>, close: () => void) => {
  const reply = (message: FromWorker, transfers: Transfers = []) => port.postMessage(message, transfers)
  const runCallback = Runtime.runCallback(runtime)
  const run = (effect: Effect.Effect<Answer, never, R>, id: number) =>
    runCallback(effect, {
      onExit: (exit) => Exit.isSuccess(exit) ? reply([id, exit.value[0], exit.value[1]], exit.value[2]) : reply([id, 2, encodeDefect(Cause.squash(exit.cause))])
    })
  port.on("message", (message: ToWorker) => {
    if (message === "close") return close()
    const [id, encoded, trace] = message
    const request = decodeRequest(encoded)
    if (Either.isLeft(request)) return reply([id, 2, encodeDefect(request.left)])
    const effect = handle(request.right)
    run(trace === undefined ? effect : Effect.withParentSpan(effect, Tracer.externalSpan({ traceId: trace[0], spanId: trace[1], sampled: trace[2] })), id)
  })
  reply("ready")
}
