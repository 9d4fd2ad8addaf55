/**
 * PdfRenderer: a worker's door to its PDF renderer thread (Render.ts). Each request has a deadline; a page
 * that overruns it (a page built to exhaust a renderer cannot be cancelled) has the thread terminated, which
 * answers a typed DocumentUnreadable while the worker, its tesseract engines and the daemon go on. The thread
 * starts on first use, or after warm-up, and first proves it can draw a text page and a JPEG 2000 page.
 */
import { Context, Effect, Layer } from "effect"
import { Worker } from "node:worker_threads"
import { DocumentUnreadable, ImageTooLarge, InferenceFailed, type WorkerSettings } from "./Protocol.js"
import type { Rendered, RenderFailure, RenderReply, RenderRequest } from "./RenderProtocol.js"

export type PdfFailure = DocumentUnreadable | ImageTooLarge | InferenceFailed

export interface PdfRendererService {
  readonly pages: (document: Uint8Array) => Effect.Effect<number, PdfFailure>
  /** Page `page` (from 1) at `dpi`: its text layer when `textLayer` and it has one, else its grey pixels. */
  readonly page: (document: Uint8Array, page: number, dpi: number, textLayer: boolean) => Effect.Effect<Rendered, PdfFailure>
  /** Starts the thread and runs its self-test, if not done yet. */
  readonly start: Effect.Effect<void, PdfFailure>
}

export class PdfRenderer extends Context.Tag("inferd/PdfRenderer")<PdfRenderer, PdfRendererService>() {}

type Distribute<T> = T extends unknown ? Omit<T, "id"> : never
type Request = Distribute<RenderRequest>

const typed = (error: RenderFailure, maxPixels: number): PdfFailure => {
  switch (error.reason) {
    case "too-large":
      return new ImageTooLarge({ message: error.message, width: error.width, height: error.height, maxPixels })
    case "broken":
      return new InferenceFailed({ message: error.message })
    default:
      return new DocumentUnreadable({ message: error.message, reason: error.reason })
  }
}

export const make = (settings: WorkerSettings) =>
  Effect.gen(function*() {
    let thread: Worker | undefined
    let ready: Effect.Effect<RenderReply> | undefined
    let next = 0
    const pending = new Map<number, (reply: RenderReply) => void>()

    const stop = (failure: RenderFailure) => {
      const stopped = thread
      thread = undefined
      ready = undefined
      void stopped?.terminate()
      for (const [id, answer] of pending) answer({ id, ok: false, error: failure })
      pending.clear()
    }

    const spawn = () => {
      const worker = new Worker(settings.renderEntry)
      worker.on("message", (reply: RenderReply) => {
        pending.get(reply.id)?.(reply)
        pending.delete(reply.id)
      })
      // Out of memory or a crash of the native canvas: whatever the page was, it cannot be read.
      worker.on("error", (cause) => thread === worker && stop({ reason: "too-complex", message: `the PDF renderer failed on this document: ${cause.message}` }))
      worker.on("exit", () => thread === worker && stop({ reason: "too-complex", message: "the PDF renderer stopped on this document" }))
      worker.unref()
      return worker
    }

    const send = (request: Request, timeoutMs: number, overrun: string) =>
      Effect.async<RenderReply>((resume) => {
        thread ??= spawn()
        const id = next++
        const timer = setTimeout(() => stop({ reason: overrun === "" ? "too-complex" : "broken", message: overrun || `the PDF took over ${timeoutMs} ms to render (INFERD_PDF_PAGE_TIMEOUT)` }), timeoutMs)
        pending.set(id, (reply) => {
          clearTimeout(timer)
          resume(Effect.succeed(reply))
        })
        thread.postMessage({ ...request, id })
      })

    const call = (request: Request) =>
      Effect.gen(function*() {
        yield* start
        const reply = yield* send(request, settings.pageTimeoutMs, "")
        return reply.ok ? reply.value : yield* Effect.fail(typed(reply.error, settings.maxPixels))
      })

    // One self-test per thread: every request waits for it, and a broken install fails them all the same way.
    // Loading pdf.js and compiling its first page take the thread seconds on a busy machine: not a page's deadline.
    const start: Effect.Effect<void, PdfFailure> = Effect.gen(function*() {
      if (thread === undefined || ready === undefined) ready = yield* Effect.cached(send({ op: "selftest" }, 60_000, "the PDF renderer did not start within 60 s"))
      const reply = yield* ready
      if (!reply.ok) return yield* Effect.fail(typed(reply.error, settings.maxPixels))
    })

    yield* Effect.addFinalizer(() => Effect.promise(() => thread?.terminate() ?? Promise.resolve(0)))
    // The self-test runs at start, after tesseract has had the CPU for the warm-up: a broken install shows in
    // the log before the first PDF arrives.
    yield* Effect.forkScoped(start.pipe(
      Effect.delay("2 seconds"),
      Effect.tapError((error) => Effect.logError(`PDF renderer self-test failed: ${error.message}`)),
      Effect.ignore
    ))

    return PdfRenderer.of({
      start,
      pages: (document) =>
        Effect.flatMap(call({ op: "inspect", document, maxPixels: settings.maxPixels }), (value) =>
          "pages" in value ? Effect.succeed(value.pages) : Effect.die("the renderer answered a count with something else")),
      page: (document, page, dpi, textLayer) =>
        Effect.flatMap(call({ op: "page", document, page, dpi, textLayer, maxPixels: settings.maxPixels }), (value) =>
          "kind" in value ? Effect.succeed(value) : Effect.die("the renderer answered a page with something else"))
    })
  })

export const layer = (settings: WorkerSettings) => Layer.scoped(PdfRenderer, make(settings))
