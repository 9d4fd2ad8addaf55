/**
 * What a worker thread, and the threads it starts (tesseract's, the PDF renderer), write to stderr goes through
 * the daemon's logger, one entry per line with the worker's id, instead of landing raw between its log lines:
 * tesseract warns there ("Invalid resolution 0 dpi. Using 70 instead.") and pdf.js too.
 */
import { Effect, Runtime } from "effect"
import { createInterface } from "node:readline"
import type { Worker as Thread } from "node:worker_threads"

/** Reads `thread.stderr` (the thread made with `stderr: true`) until the thread ends. */
export const relay = (thread: Thread, worker: number, runtime: Runtime.Runtime<never>) => {
  const run = Runtime.runFork(runtime)
  createInterface({ input: thread.stderr, crlfDelay: Infinity }).on("line", (line) => {
    if (line.trim() === "") return
    const log = /warn|error|fail|invalid/i.test(line) ? Effect.logWarning(line) : Effect.logInfo(line)
    run(log.pipe(Effect.annotateLogs({ worker, from: "stderr" })))
  })
}
