/**
 * Progress for a batch: on a terminal one line rewritten in place (done/total, percent, rate, ETA), with
 * messages printed above it rather than onto it; elsewhere only the messages, so logs and pipes stay clean.
 * Written to stderr: stdout is for results.
 */
import { Clock, Effect, Ref } from "effect"

// Carriage return, then erase the line: what was drawn of the bar goes before anything else is written.
const CLEAR = "\r\x1b[2K"

/** Where progress goes: stderr, or a stand-in in tests. */
export interface Terminal {
  readonly isTTY?: boolean
  readonly write: (text: string) => unknown
}

export const make = (total: number, stream: Terminal = process.stderr) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const state = yield* Ref.make({ done: 0, failed: 0, drawn: false })
    const tty = stream.isTTY === true
    const write = (text: string) => Effect.sync(() => stream.write(text))
    const draw = Effect.gen(function*() {
      const { done, failed } = yield* Ref.updateAndGet(state, (s) => ({ ...s, drawn: true }))
      const seconds = Math.max(0.001, ((yield* Clock.currentTimeMillis) - start) / 1000)
      const rate = done / seconds
      const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0
      const percent = total === 0 ? 100 : Math.floor((100 * done) / total)
      const bar = "#".repeat(Math.floor(percent / 5)).padEnd(20, ".")
      yield* write(`${CLEAR}[${bar}] ${done}/${total} ${percent}% ${rate.toFixed(2)}/s ETA ${eta}s${failed ? ` (${failed} failed)` : ""}`)
    })
    const tick = (ok: boolean) =>
      Effect.zipRight(Ref.update(state, (s) => ({ ...s, done: s.done + 1, failed: s.failed + (ok ? 0 : 1) })), tty ? draw : Effect.void)
    /** A line of its own on stderr; on a terminal the bar is redrawn below it. */
    const message = (line: string) => tty ? Effect.zipRight(write(`${CLEAR}${line}\n`), draw) : write(`${line}\n`)
    /** Ends the bar's line, if one is drawn, so whatever is printed next starts on a line of its own. */
    const close = Effect.flatMap(Ref.get(state), (s) => s.drawn ? write("\n") : Effect.void)
    return { tick, message, close, summary: Effect.map(Ref.get(state), ({ done, failed }) => ({ done, failed })) }
  })
