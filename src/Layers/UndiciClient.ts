/**
 * The HTTP client of the commands that send requests (`inferd ocr|faces|audio`, `inferd models fetch`):
 * @effect/platform-node's undici client, imported only when one of them runs. undici is a quarter of the code
 * the CLI loads at start, and the daemon never needs it.
 */
import type { HttpClientError } from "@effect/platform/HttpClientError"
import { Effect, Layer } from "effect"

export const layer = Layer.unwrapEffect(
  Effect.map(Effect.promise(() => import("@effect/platform-node/NodeHttpClient")), (module) => module.layerUndici)
)

/**
 * Why a request got no answer, in the system's words ("connect ECONNREFUSED 127.0.0.1:9", "getaddrinfo
 * ENOTFOUND example.org"): the platform's own message only says "Transport error".
 */
export const unanswered = (error: HttpClientError): string =>
  error._tag === "RequestError" && error.cause instanceof Error ? error.cause.message : error.message
