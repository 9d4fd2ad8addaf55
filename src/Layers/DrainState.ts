/**
 * Whether the daemon is draining. It begins the moment SIGTERM starts the shutdown, before the pool stops
 * taking tasks and long before the listener closes, so `/health/ready` turns 503 and a load balancer stops
 * sending work while in-flight requests still finish.
 */
import { Context, Effect, Layer, Ref } from "effect"

export interface DrainStateService {
  readonly draining: Effect.Effect<boolean>
  readonly begin: Effect.Effect<void>
}

export class DrainState extends Context.Tag("inferd/DrainState")<DrainState, DrainStateService>() {}

export const layer = Layer.effect(DrainState, Effect.map(Ref.make(false), (ref) => DrainState.of({
  draining: Ref.get(ref),
  begin: Ref.set(ref, true)
})))
