/**
 * Bearer-token authentication: with `INFERD_API_TOKEN` set, every `/v1/*` route needs
 * `Authorization: Bearer <token>`; health, status and docs stay open for probes. Tokens are compared in
 * constant time (over SHA-256 digests, so their lengths leak nothing either).
 */
import { HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Config, Effect, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (value: string) => createHash("sha256").update(value).digest()

/** `INFERD_API_TOKEN`: a secret; unset (the default) means no authentication. */
export const token = Config.option(Config.redacted("INFERD_API_TOKEN"))

const matches = (expected: Buffer, header: string | undefined) => {
  const presented = header?.match(/^Bearer\s+(.+)$/i)?.[1] ?? ""
  return timingSafeEqual(expected, digest(presented))
}

const unauthorized = HttpServerResponse.unsafeJson(
  { _tag: "Unauthorized", message: "this route needs the header `Authorization: Bearer <INFERD_API_TOKEN>`" },
  { status: 401, headers: { "www-authenticate": "Bearer" } }
)

/** The middleware for a token, or the identity when none is configured. */
export const middleware = (secret: Option.Option<Redacted.Redacted>) => {
  if (Option.isNone(secret)) return HttpMiddleware.make((app) => app)
  const expected = digest(Redacted.value(secret.value))
  return HttpMiddleware.make((app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      request.url.startsWith("/v1/") && !matches(expected, request.headers["authorization"]) ? Effect.succeed(unauthorized) : app)
  )
}
