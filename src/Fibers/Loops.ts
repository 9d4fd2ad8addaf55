import { Context, Effect, Layer, Option, Ref } from "effect"
import type { Loop, LoopStatus } from "./Loop.js"

export interface LoopsService {
  /** Adds a loop; one registered again under the same name replaces the old entry. */
  readonly register: (loop: Loop) => Effect.Effect<void>
  /** The status of every loop, in registration order. */
  readonly list: Effect.Effect<ReadonlyArray<LoopStatus>>
  readonly get: (name: string) => Effect.Effect<Option.Option<Loop>>
}

/**
 * Every background loop of the daemon, by name: HTTP lists them and sends them commands
 * (`GET /v1/loops`, `POST /v1/loops/{name}/run|pause|resume`), `/status` and readiness read them.
 */
export class Loops extends Context.Tag("inferd/Loops")<Loops, LoopsService>() {}

export const make = Effect.gen(function*() {
  const loops = yield* Ref.make<ReadonlyArray<Loop>>([])
  return Loops.of({
    register: (loop) => Ref.update(loops, (all) => [...all.filter((other) => other.name !== loop.name), loop]),
    list: Effect.flatMap(Ref.get(loops), (all) => Effect.forEach(all, (loop) => loop.status)),
    get: (name) => Effect.map(Ref.get(loops), (all) => Option.fromNullable(all.find((loop) => loop.name === name)))
  })
})

export const layer = Layer.effect(Loops, make)
