import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Progress from "../../src/Cli/Progress.js"

/** What a terminal shows after `output`: `\r` returns to the line's start, ESC[2K erases it, `\n` starts a new one. */
const screen = (output: string) => {
  const lines = [""]
  for (const part of output.split(/(\r|\x1b\[2K|\n)/)) {
    if (part === "\n") lines.push("")
    else if (part === "\x1b[2K") lines[lines.length - 1] = ""
    else if (part !== "\r") lines[lines.length - 1] += part
  }
  return lines
}

const terminal = (isTTY: boolean) => {
  let output = ""
  return { isTTY, write: (text: string) => (output += text), output: () => output }
}

describe("Progress", () => {
  it.effect("on a terminal, prints each message on a line of its own above the bar, and ends the bar's line", () =>
    Effect.gen(function*() {
      const tty = terminal(true)
      const progress = yield* Progress.make(3, tty)
      yield* TestClock.adjust("1 second")
      yield* progress.tick(true)
      yield* progress.message("b.png: ImageUndecodable: not an image")
      yield* progress.tick(false)
      yield* progress.message("c.png: ImageUndecodable: not an image")
      yield* progress.close
      assert.deepStrictEqual(screen(tty.output()), [
        "b.png: ImageUndecodable: not an image",
        "c.png: ImageUndecodable: not an image",
        "[#############.......] 2/3 66% 2.00/s ETA 1s (1 failed)",
        ""
      ])
      assert.deepStrictEqual(yield* progress.summary, { done: 2, failed: 1 })
    }))

  it.effect("elsewhere, writes the messages alone: no bar, no control characters", () =>
    Effect.gen(function*() {
      const pipe = terminal(false)
      const progress = yield* Progress.make(2, pipe)
      yield* progress.tick(true)
      yield* progress.message("b.png: ImageUndecodable: not an image")
      yield* progress.tick(false)
      yield* progress.close
      assert.strictEqual(pipe.output(), "b.png: ImageUndecodable: not an image\n")
    }))

  it.effect("closes nothing when nothing was drawn (a batch stopped before its first answer)", () =>
    Effect.gen(function*() {
      const tty = terminal(true)
      const progress = yield* Progress.make(5, tty)
      yield* progress.close
      assert.strictEqual(tty.output(), "")
    }))
})
