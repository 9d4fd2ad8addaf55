/**
 * Refuses a query option the route does not take: `?threshhold=0.9` must not run with the default threshold
 * while the client believes it set one. Runs on every `/v1` route, after authentication.
 */
import { HttpApiMiddleware, HttpRouter, HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import type { RouteTable } from "./Routes.js"
import { MalformedRequest } from "./Upload.js"

export class KnownOptions extends HttpApiMiddleware.Tag<KnownOptions>()("inferd/KnownOptions", { failure: MalformedRequest }) {}

export const make = (routes: RouteTable) =>
  KnownOptions.of(Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const context = yield* HttpRouter.RouteContext
    const given = Object.keys(yield* HttpServerRequest.ParsedSearchParams)
    const route = routes.byPath(request.method === "HEAD" ? "GET" : request.method, context.route.path)
    const known = route?.options ?? []
    const unknown = given.find((name) => !known.includes(name))
    if (unknown === undefined) return
    return yield* new MalformedRequest({
      message: `${route?.template ?? context.route.path} has no option "${unknown}"; it takes ${known.length === 0 ? "none" : known.join(", ")}`,
      parameter: unknown
    })
  }))
