/**
 * Bearer-token authentication, bound to the routes rather than to URL strings: every `/v1` group carries the
 * `Authorization` middleware, so whatever spelling of a path the router accepts (`/V1/ocr`, `//v1/ocr`,
 * `/%761/ocr`), the check runs. With `INFERD_API_TOKEN` unset every request passes; health, status, metrics and
 * docs never carry it. Tokens are compared in constant time, over SHA-256 digests so their lengths leak nothing.
 */
import { HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Config, Effect, Layer, Option, Redacted, Schema } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

/** The route needs `Authorization: Bearer <INFERD_API_TOKEN>` and the request had none, or another token. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401, description: "The bearer token is missing or wrong (with `WWW-Authenticate: Bearer`)" })
) {}

export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("inferd/Authorization", {
  failure: Unauthorized,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(OpenApi.Description, "The value of `INFERD_API_TOKEN`, when the daemon has one")
    )
  }
}) {}

/** `INFERD_API_TOKEN`: a secret; unset (the default) means no authentication. */
export const token = Config.option(Config.redacted("INFERD_API_TOKEN"))

const digest = (value: string) => createHash("sha256").update(value).digest()

const refused = new Unauthorized({ message: "this route needs the header `Authorization: Bearer <INFERD_API_TOKEN>`" })

/** The check for a configured token, or one that lets everything through. */
export const make = (secret: Option.Option<Redacted.Redacted>) => {
  if (Option.isNone(secret)) return Authorization.of({ bearer: () => Effect.void })
  const expected = digest(Redacted.value(secret.value))
  return Authorization.of({
    bearer: (presented) => timingSafeEqual(expected, digest(Redacted.value(presented))) ? Effect.void : Effect.fail(refused)
  })
}

export const layer = Layer.effect(Authorization, Effect.map(token, make))
