/**
 * The canary: a loop that OCRs a known built-in page through the pool and checks the answer, so the daemon
 * notices a broken engine (or a pool that cannot run anything) before its clients do. Readiness reads the
 * `canary` loop's `consecutiveFailures`.
 */
import { Config, Data, Duration, Effect, Layer } from "effect"
import * as Tasks from "../Pool/Tasks.js"
import { WorkerPool, type WorkerPoolService } from "../Pool/WorkerPool.js"
import { canaryImage, canaryText } from "../Workers/CanaryImage.js"
import * as Loop from "./Loop.js"
import { Loops } from "./Loops.js"

/** The engine answered, but not with the text on the canary page. */
export class CanaryMismatch extends Data.TaggedError("CanaryMismatch")<{
  readonly message: string
  readonly expected: string
  readonly actual: string
}> {}

/** `INFERD_CANARY_INTERVAL`: time between canary runs after a success (default 60 s; the first runs at start). */
export const interval = Config.duration("INFERD_CANARY_INTERVAL").pipe(
  Config.withDefault(Duration.seconds(60)),
  Config.withDescription("time between canary OCR runs")
)

/** One canary run; its latency lands in the loop's `lastDurationMs`. */
export const check = (pool: WorkerPoolService) =>
  Effect.gen(function*() {
    const result = yield* pool.submit(Tasks.ocr(canaryImage()), { priority: "background" })
    if (!result.text.includes(canaryText)) {
      return yield* new CanaryMismatch({
        message: `expected the canary page to read "${canaryText}", got "${result.text.trim()}"`,
        expected: canaryText,
        actual: result.text
      })
    }
  })

/** The `canary` loop, registered in `Loops`, stopped with the layer's scope. */
export const layer = Layer.scopedDiscard(Effect.gen(function*() {
  const pool = yield* WorkerPool
  const loops = yield* Loops
  const loop = yield* Loop.make({ name: "canary", interval: yield* interval, body: check(pool), runAtStart: true })
  yield* loops.register(loop)
}))
