/**
 * One worker thread, as the pool's main thread talks to it. The thread runs the platform's
 * `WorkerRunner.layerSerialized` (src/Workers/Entry.ts); this side sends the runner's messages itself instead
 * of going through the platform's `Worker` client. That client gives every request a Scope, a Deferred, an
 * effectful schema encoding and a fiber for its reply: about 280 µs of main-thread time per echo on this
 * machine, against 30 µs for the same messages sent plainly, and the garbage of its fibers made V8's
 * scavenges slow enough to put a 4 ms p99 on every task (measured with bench/dispatch.mjs).
 *
 * The messages are the runner's, from @effect/platform 0.97 (pinned exactly in package.json):
 * main → thread `[0, [id, 0, request, span?]]`, and `[1]` to close; thread → main `[0]` once ready, then
 * `[1, [id, 0, [success]]]`, `[1, [id, 2, failure]]` or `[1, [id, 3, cause]]` per request.
 */
import { Data, Deferred, Effect, Exit, type Scope } from "effect"
import { Worker as Thread } from "node:worker_threads"
import type { WorkerSettings } from "../Workers/Protocol.js"

/** A thread's answer to one request, still encoded; `Ended` when the thread ended first. */
export type Answer =
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: unknown }
  | { readonly _tag: "Defect"; readonly cause: unknown }
  | { readonly _tag: "Ended"; readonly reason: string }

/** What the runner sends: ready, then one answer per request (kind 0 success, 2 failure, 3 defect). */
type RunnerMessage = readonly [0] | readonly [1, readonly [id: number, kind: number, data: unknown]]

/** The caller's span context `[traceId, spanId, sampled]`, so the thread's spans join the caller's trace. */
export type TraceContext = readonly [string, string, boolean]

export interface WorkerThread {
  readonly threadId: number
  /**
   * Sends one request, moving `transfers` to the thread; `onAnswer` runs once. Throws what `postMessage`
   * throws (a buffer that was already transferred).
   */
  readonly send: (request: unknown, transfers: ReadonlyArray<ArrayBufferLike>, trace: TraceContext | undefined, onAnswer: (answer: Answer) => void) => void
  /** Stops the thread at once, whatever it runs (CPU-bound work cannot be interrupted from outside). */
  readonly terminate: () => void
  /** Completes, with why, when the thread has ended. */
  readonly ended: Effect.Effect<string>
}

/** The thread ended or failed before it was ready to take requests. */
export class ThreadStartFailed extends Data.TaggedError("ThreadStartFailed")<{ readonly message: string }> {}

/**
 * The thread's script, the bundle dist/Workers/Entry.js. This module runs from dist/ (tsc's dist/Pool, or a
 * chunk of the bundled CLI) or, under vitest, from src/Pool/*.ts, where a thread still needs the build in dist/.
 */
export const entry = (): URL => {
  const here = import.meta.url
  if (here.endsWith(".ts")) return new URL("../../dist/Workers/Entry.js", here)
  return new URL("Workers/Entry.js", here.slice(0, here.lastIndexOf("/dist/") + "/dist/".length))
}

export interface ThreadOptions {
  readonly settings: WorkerSettings
  readonly heapMb: number
  /** How long a thread asked to close may take (finalizers: tesseract's own thread) before it is terminated. */
  readonly closeTimeoutMs: number
}

/** Starts a thread and waits until its runner is ready. Closing the scope closes the thread. */
export const spawn = (options: ThreadOptions): Effect.Effect<WorkerThread, ThreadStartFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const ended = yield* Deferred.make<string>()
    const ready = yield* Deferred.make<void, ThreadStartFailed>()
    const thread = yield* Effect.acquireRelease(
      Effect.sync(() => new Thread(entry(), { workerData: options.settings, resourceLimits: { maxOldGenerationSizeMb: options.heapMb } })),
      (thread) => close(thread, ended, options.closeTimeoutMs)
    )
    const pending = new Map<number, (answer: Answer) => void>()
    let nextId = 0
    let error: string | undefined

    thread.on("message", (message: RunnerMessage) => {
      if (message[0] === 0) return Deferred.unsafeDone(ready, Exit.void)
      const [id, kind, data] = message[1]
      const onAnswer = pending.get(id)
      if (onAnswer === undefined) return
      pending.delete(id)
      onAnswer(
        kind === 0 ? { _tag: "Success", value: (data as ReadonlyArray<unknown>)[0] } : kind === 2 ? { _tag: "Failure", error: data } : { _tag: "Defect", cause: data }
      )
    })
    // `error` (an uncaught exception, the heap limit) comes just before `exit`; it says more than the code.
    thread.on("error", (cause) => {
      error = cause.message
    })
    thread.on("messageerror", (cause) => {
      error = `a message from the thread could not be read: ${cause.message}`
      void thread.terminate()
    })
    thread.on("exit", (code) => {
      const reason = error ?? `exited with code ${code}`
      Deferred.unsafeDone(ready, Exit.fail(new ThreadStartFailed({ message: `the worker thread ended before it was ready: ${reason}` })))
      Deferred.unsafeDone(ended, Exit.succeed(reason))
      for (const onAnswer of pending.values()) onAnswer({ _tag: "Ended", reason })
      pending.clear()
    })
    yield* Deferred.await(ready)

    return {
      threadId: thread.threadId,
      send: (request, transfers, trace, onAnswer) => {
        const id = nextId++
        // A SharedArrayBuffer is shared, never moved.
        thread.postMessage([0, [id, 0, request, trace]], transfers.filter((buffer) => buffer instanceof ArrayBuffer))
        pending.set(id, onAnswer)
      },
      terminate: () => void thread.terminate(),
      ended: Deferred.await(ended)
    } satisfies WorkerThread
  })

/** Asks the runner to close (its finalizers run), and terminates the thread if it has not ended in time. */
const close = (thread: Thread, ended: Deferred.Deferred<string>, timeoutMs: number) =>
  Effect.gen(function*() {
    if (yield* Deferred.isDone(ended)) return
    thread.postMessage([1])
    const closed = yield* Deferred.await(ended).pipe(Effect.interruptible, Effect.timeout(timeoutMs), Effect.option)
    if (closed._tag === "None") yield* Effect.promise(() => thread.terminate())
  })
