/**
 * The HTTP server: the API on NodeHttpServer at HOST:PORT (default 127.0.0.1:8080), and the order of shutdown.
 */
import { HttpApiBuilder, HttpApiScalar, HttpApp, HttpMiddleware, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { WorkerPool } from "../Pool/WorkerPool.js"
import { Api } from "./Api.js"
import { Metrics } from "../Layers/Metrics.js"
import * as AudioHandlers from "./AudioHandlers.js"
import * as Auth from "./Auth.js"
import * as DebugHandlers from "./DebugHandlers.js"
import * as FacesHandlers from "./FacesHandlers.js"
import * as GalleryHandlers from "./GalleryHandlers.js"
import * as JobsHandlers from "./JobsHandlers.js"
import * as LoopsHandlers from "./LoopsHandlers.js"
import * as OcrHandlers from "./OcrHandlers.js"
import * as RequestId from "./RequestId.js"
import * as RequestMetrics from "./RequestMetrics.js"
import * as SystemHandlers from "./SystemHandlers.js"
import * as Upload from "./Upload.js"

export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([
    SystemHandlers.layer,
    OcrHandlers.layer,
    HttpApiBuilder.group(Api, "faces", FacesHandlers.build),
    HttpApiBuilder.group(Api, "gallery", GalleryHandlers.build),
    HttpApiBuilder.group(Api, "audio", AudioHandlers.build),
    JobsHandlers.layer,
    LoopsHandlers.layer,
    DebugHandlers.layer
  ])
)

const listen = Layer.unwrapEffect(Effect.gen(function*() {
  const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  const port = yield* Config.port("PORT").pipe(Config.withDefault(8080))
  return NodeHttpServer.layer(createServer, { host, port }).pipe(
    Layer.tap(() => Effect.logInfo(`listening on http://${host}:${port}`))
  )
}))

/** An error the framework answers with an empty body (an unknown route, say) gets a typed one too. */
const typedBody = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
  response.status >= 400 && response.body._tag === "Empty"
    ? HttpServerResponse.unsafeJson(
      response.status === 404
        ? { _tag: "NotFound", message: `no route for ${request.method} ${request.url.split("?")[0]}` }
        : { _tag: "HttpError", message: `HTTP ${response.status}` },
      { status: response.status, headers: response.headers }
    )
    : response

/**
 * Headers the typed errors imply. A 413 answered before the whole body arrived closes the connection, which
 * would otherwise carry the client's next request behind the rest of the rejected upload. A 503 says when to
 * come back.
 */
const errorHeaders = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
  response.status === 413 && !NodeHttpServerRequest.toIncomingMessage(request).complete
    ? HttpServerResponse.setHeader(response, "connection", "close")
    : response.status === 503
    ? HttpServerResponse.setHeader(response, "retry-after", "1")
    : response

// Pre-response handlers, since the response is already written by the time a middleware sees it.
const finishResponses = HttpMiddleware.make((app) =>
  Effect.zipRight(
    HttpApp.appendPreResponseHandler((request, response) => Effect.succeed(errorHeaders(request, typedBody(request, response)))),
    app
  )
)

/**
 * Built after the server, so released before it: the pool drains (in-flight tasks get the grace period, queued
 * ones a typed 503) while the server still answers, and only then does the server close, which waits for
 * every open request.
 */
const drainFirst = Layer.scopedDiscard(Effect.gen(function*() {
  const pool = yield* WorkerPool
  yield* Effect.addFinalizer(() => Effect.logInfo("shutting down: draining the worker pool").pipe(Effect.zipRight(pool.drain)))
}))

/** The API served with its cross-cutting middleware (authentication outermost, then error headers) and docs. */
export const serve = Layer.unwrapEffect(Effect.gen(function*() {
  const auth = Auth.middleware(yield* Auth.token)
  const measured = RequestMetrics.middleware(yield* Effect.serviceOption(Metrics))
  return HttpApiBuilder.serve((app) => RequestId.middleware(measured(auth(finishResponses(app))))).pipe(
    // The interactive page's assets are inlined: it works offline.
    Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }))
  )
}))

export const HttpLive = drainFirst.pipe(
  Layer.provide(serve.pipe(Layer.provide(ApiLive), Layer.provide(Upload.layer), Layer.provide(listen)))
)
