/**
 * The HTTP client of the commands that send requests (`inferd ocr|faces|audio`, `inferd models fetch`):
 * @effect/platform-node's undici client, imported only when one of them runs. undici is a quarter of the code
 * the CLI loads at start, and the daemon never needs it.
 */
import { Effect, Layer } from "effect"

export const layer = Layer.unwrapEffect(
  Effect.map(Effect.promise(() => import("@effect/platform-node/NodeHttpClient")), (module) => module.layerUndici)
)
