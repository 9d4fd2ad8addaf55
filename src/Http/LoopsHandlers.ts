/** GET /v1/loops and the run / pause / resume commands. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import type { Loop } from "../Fibers/Loop.js"
import { Loops } from "../Fibers/Loops.js"
import { Api, LoopNotFound } from "./Api.js"

export const layer = HttpApiBuilder.group(Api, "loops", (handlers) =>
  Effect.gen(function*() {
    const loops = yield* Loops
    const command = (name: string, f: (loop: Loop) => Effect.Effect<void>) =>
      Effect.flatMap(loops.get(name), Option.match({
        onNone: () => Effect.fail(new LoopNotFound({ message: `no loop named "${name}"`, name })),
        // A command waits for a run in progress to end; past a moment, answer with the state as it is.
        onSome: (loop) => Effect.zipRight(f(loop).pipe(Effect.timeout("2 seconds"), Effect.ignore), loop.status)
      }))
    return handlers
      .handle("list", () => loops.list)
      .handle("run", ({ path }) => command(path.name, (loop) => loop.runNow))
      .handle("pause", ({ path }) => command(path.name, (loop) => loop.pause))
      .handle("resume", ({ path }) => command(path.name, (loop) => loop.resume))
  }))
