/**
 * Progress for a batch: on a terminal one line rewritten in place (done/total, percent, rate, ETA); elsewhere
 * nothing, so logs and pipes stay clean. Written to stderr: stdout is for results.
 */
import { Clock, Effect, Ref } from "effect"

export const make = (total: number) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const state = yield* Ref.make({ done: 0, failed: 0 })
    const tty = process.stderr.isTTY === true
    const draw = (done: number, failed: number, now: number) => {
      const seconds = Math.max(0.001, (now - start) / 1000)
      const rate = done / seconds
      const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0
      const percent = total === 0 ? 100 : Math.floor((100 * done) / total)
      const bar = "#".repeat(Math.floor(percent / 5)).padEnd(20, ".")
      return `[${bar}] ${done}/${total} ${percent}% ${rate.toFixed(2)}/s ETA ${eta}s${failed ? ` (${failed} failed)` : ""}`
    }
    const tick = (ok: boolean) =>
      Effect.gen(function*() {
        const { done, failed } = yield* Ref.updateAndGet(state, (s) => ({ done: s.done + 1, failed: s.failed + (ok ? 0 : 1) }))
        const now = yield* Clock.currentTimeMillis
        if (tty) yield* Effect.sync(() => process.stderr.write(`\r${draw(done, failed, now)}${done === total ? "\n" : ""}`))
      })
    return { tick, summary: Ref.get(state) }
  })
