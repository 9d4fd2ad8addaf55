/**
 * Request ids: the client's `x-request-id` if it sent a sane one, else a fresh one. Every log line of the request
 * carries it, and so does the response, so a client's report can be found in the logs.
 */
import { HttpApp, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"

const sane = /^[A-Za-z0-9._-]{1,128}$/

export const middleware = HttpMiddleware.make((app) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const given = request.headers["x-request-id"]
    const id = given !== undefined && sane.test(given) ? given : randomUUID()
    return Effect.zipRight(
      HttpApp.appendPreResponseHandler((_request, response) => Effect.succeed(HttpServerResponse.setHeader(response, "x-request-id", id))),
      app
    ).pipe(Effect.annotateLogs("requestId", id))
  })
)
