/** GET /v1/loops and the run / pause / resume commands. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import type { Loop, LoopStatus } from "../Fibers/Loop.js"
import { Loops } from "../Fibers/Loops.js"
import { Api, LoopNotFound } from "./Api.js"

export const layer = HttpApiBuilder.group(Api, "loops", (handlers) =>
  Effect.gen(function*() {
    const loops = yield* Loops
    const command = <E>(name: string, f: (loop: Loop) => Effect.Effect<void, E>) =>
      Effect.gen(function*() {
        const found = yield* loops.get(name)
        if (Option.isNone(found)) return yield* new LoopNotFound({ message: `no loop named "${name}"`, name })
        // A command waits for a run in progress to end; past a moment, answer with the state as it is.
        yield* f(found.value).pipe(Effect.timeout("2 seconds"), Effect.catchTag("TimeoutException", () => Effect.void))
        return yield* found.value.status
      }) satisfies Effect.Effect<LoopStatus, LoopNotFound | E>
    return handlers
      .handle("list", () => loops.list)
      .handle("run", ({ path }) => command(path.name, (loop) => loop.runNow))
      .handle("pause", ({ path }) => command(path.name, (loop) => loop.pause))
      .handle("resume", ({ path }) => command(path.name, (loop) => loop.resume))
  }))
