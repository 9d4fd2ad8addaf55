/**
 * One worker thread, as the pool's main thread talks to it: Protocol.ts's messages over `postMessage`, with
 * an answer callback per request instead of a fiber. The platform's Worker client gives every request a
 * Scope, a Deferred, an effectful schema encoding and a fiber for its reply: about 280 µs of main-thread time
 * per echo on this machine, against 30 µs for the same messages sent plainly, and the garbage of its fibers
 * made V8's scavenges slow enough to put a 4 ms p99 on every task (bench/dispatch.mjs).
 */
import { Data, Deferred, Effect, Exit, type Scope } from "effect"
import { Worker as Thread } from "node:worker_threads"
import type { FromWorker, ToWorker, TraceContext, WorkerRequest, WorkerSettings } from "../Workers/Protocol.js"
import { relay } from "./WorkerStderr.js"

/** A thread's answer to one request, still encoded by the request's schemas. */
export type Answer =
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: unknown }
  | { readonly _tag: "Defect"; readonly defect: unknown }

/** What a request whose thread ended before answering gets instead. */
export interface Ended {
  readonly _tag: "Ended"
  readonly reason: string
}

export interface WorkerThread {
  readonly threadId: number
  /**
   * Sends one request, moving `transfers` to the thread; `onAnswer` runs once. Throws what `postMessage`
   * throws (a buffer that was already transferred).
   */
  readonly send: (request: typeof WorkerRequest.Encoded, transfers: ReadonlyArray<ArrayBufferLike>, trace: TraceContext | undefined, onAnswer: (answer: Answer | Ended) => void) => void
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
  /** The slot's index, naming the thread's stderr lines in the log. */
  readonly id: number
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
    const runtime = yield* Effect.runtime<never>()
    const thread = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const thread = new Thread(entry(), { workerData: options.settings, resourceLimits: { maxOldGenerationSizeMb: options.heapMb }, stderr: true })
        relay(thread, options.id, runtime)
        return thread
      }),
      (thread) => close(thread, ended, options.closeTimeoutMs)
    )
    const pending = new Map<number, (answer: Answer | Ended) => void>()
    let nextId = 0
    let error: string | undefined

    thread.on("message", (message: FromWorker) => {
      if (message === "ready") return Deferred.unsafeDone(ready, Exit.void)
      const [id, kind, value] = message
      const onAnswer = pending.get(id)
      if (onAnswer === undefined) return
      pending.delete(id)
      onAnswer(kind === 0 ? { _tag: "Success", value } : kind === 1 ? { _tag: "Failure", error: value } : { _tag: "Defect", defect: value })
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
        const message: ToWorker = [id, request, trace]
        thread.postMessage(message, transfers.filter((buffer) => buffer instanceof ArrayBuffer))
        pending.set(id, onAnswer)
      },
      terminate: () => void thread.terminate(),
      ended: Deferred.await(ended)
    } satisfies WorkerThread
  })

/**
 * Asks the thread to close (its engines are released), and terminates it if it has not ended in time. The
 * wait for `terminate()` is bounded too: it resolves once the thread has exited, and a thread exits only after
 * the threads it started are joined, so one of those stuck in native code (a PDF renderer terminated mid-page,
 * still inside the canvas library) would hold the pool's shutdown for as long as that code runs.
 */
const close = (thread: Thread, ended: Deferred.Deferred<string>, timeoutMs: number) =>
  Effect.gen(function*() {
    if (yield* Deferred.isDone(ended)) return
    const message: ToWorker = "close"
    thread.postMessage(message)
    const closed = yield* Deferred.await(ended).pipe(Effect.interruptible, Effect.timeout(timeoutMs), Effect.option)
    if (closed._tag === "Some") return
    // Interruptible: a release runs uninterruptibly, where the timeout could not stop the wait.
    const terminated = yield* Effect.promise(() => thread.terminate()).pipe(Effect.interruptible, Effect.timeout(timeoutMs), Effect.option)
    if (terminated._tag === "None") {
      thread.unref()
      yield* Effect.logWarning(`worker thread ${thread.threadId} had not stopped ${timeoutMs} ms after it was terminated (native code still running in it or a thread it started): left to end by itself`)
    }
  })
