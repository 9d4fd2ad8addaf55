/** Injected faults, each the real thing a workload can do to its thread (see Protocol's `Fault`). */
import { Effect } from "effect"

type Kind = "crash" | "exit" | "hang" | "oom"

const hold: Array<Array<number>> = []

const faults: Record<Kind, () => void> = {
  // An uncaught exception from a callback, as a native binding's callback might throw.
  crash: () => {
    setTimeout(() => {
      throw new Error("injected crash: uncaught exception in a worker callback")
    }, 0)
  },
  exit: () => process.exit(3),
  hang: () => {
    for (;;) {
      // CPU-bound and never yields: only terminating the thread stops it.
    }
  },
  // Allocates until the thread's heap limit (resourceLimits) ends it.
  oom: () => {
    for (;;) hold.push(new Array(1_000_000).fill(hold.length))
  }
}

export const inject = (kind: Kind): Effect.Effect<{ kind: string }> =>
  Effect.sync(() => faults[kind]()).pipe(Effect.zipRight(kind === "crash" ? Effect.never : Effect.succeed({ kind })))
