/**
 * The API's error boundary: what the framework would answer with its own shapes (a schema tree for a bad
 * query, an empty 404 for a path taken with another method, a bare 500 for a defect) becomes one of our typed
 * errors, so every 4xx/5xx body is `{_tag, message, ...}` with a one-line message.
 */
import { HttpApiError, HttpApiSchema, type HttpApp, HttpServerError, HttpServerRequest } from "@effect/platform"
import { Cause, Effect, Option, Schema } from "effect"
import type { RouteTable } from "./Routes.js"
import { MalformedRequest } from "./Upload.js"

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No such route" })
) {}

/** The path exists, but not with this method; `allow` (and the `Allow` header) lists the ones it takes. */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  { message: Schema.String, method: Schema.String, allow: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 405, description: "The path takes other methods (listed in `Allow`)" })
) {}

/** A bug of ours, logged with its cause under the request's id; the body says no more. */
export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 500, description: "An unexpected failure, logged with the request id" })
) {}

type Refined = MalformedRequest | NotFound | MethodNotAllowed | InternalError

const pathOf = (url: string) => url.split("?")[0]!

/** A decode failure names the first offending field, with what it takes and what it got. */
const malformed = (request: HttpServerRequest.HttpServerRequest, error: HttpApiError.HttpApiDecodeError) => {
  const issue = error.issues[0]
  const name = issue === undefined || issue.path.length === 0 ? undefined : String(issue.path[0])
  const given = name === undefined ? [] : new URLSearchParams(request.url.split("?")[1] ?? "").getAll(name)
  // An option given twice decodes as a list, which no option takes: say so rather than quote one of them.
  const what = given.length > 1
    ? `is given ${given.length} times (${given.map((value) => `"${value}"`).join(", ")}): give it once`
    : issue?.message.split("\n")[0] ?? "the request does not match the route's schema"
  return new MalformedRequest({
    message: name === undefined ? what : `${name} ${what}${given.length === 1 ? ` (got "${given[0]}")` : ""}`,
    ...(name === undefined ? {} : { parameter: name })
  })
}

const isDecodeDefect = (defect: unknown) =>
  HttpServerError.isServerError(defect) && defect._tag === "RequestError" && defect.reason === "Decode"

/** The API-level middleware: refines what escapes the router and the handlers (see the module comment). */
export const refine = (routes: RouteTable) => (app: HttpApp.Default): HttpApp.Default<Refined> =>
  Effect.catchAllCause(app, (cause) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request): Effect.Effect<never, Refined> => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      const failure: Option.Option<unknown> = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        if (error instanceof HttpApiError.HttpApiDecodeError) return Effect.fail(malformed(request, error))
        if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
          const allow = routes.allowed(request.url)
          return allow.length === 0
            ? Effect.fail(new NotFound({ message: `no route for ${request.method} ${pathOf(request.url)}` }))
            : Effect.fail(new MethodNotAllowed({ message: `${pathOf(request.url)} takes ${allow.join(", ")}, not ${request.method}`, method: request.method, allow }))
        }
        return Effect.failCause(cause)
      }
      const defect = Cause.dieOption(cause)
      if (Option.isSome(defect) && isDecodeDefect(defect.value)) {
        return Effect.fail(new MalformedRequest({ message: "the body could not be read as the route's type (not valid JSON?)" }))
      }
      return Effect.zipRight(
        Effect.logError("request failed unexpectedly", cause),
        Effect.fail(new InternalError({ message: "an unexpected error occurred; it is logged under this request's x-request-id" }))
      )
    }))
