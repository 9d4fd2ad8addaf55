/**
 * The HTTP server: the API on NodeHttpServer at HOST:PORT (default 127.0.0.1:8080), its cross-cutting
 * middleware, and the order of shutdown.
 */
import { HttpApiBuilder, HttpApiScalar, HttpApp, HttpMiddleware, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { DrainState } from "../Layers/DrainState.js"
import { Metrics } from "../Layers/Metrics.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import * as Address from "./Address.js"
import { Api } from "./Api.js"
import * as AudioHandlers from "./AudioHandlers.js"
import * as Auth from "./Auth.js"
import * as DebugHandlers from "./DebugHandlers.js"
import * as ErrorBoundary from "./ErrorBoundary.js"
import * as FacesHandlers from "./FacesHandlers.js"
import * as GalleryHandlers from "./GalleryHandlers.js"
import * as JobsHandlers from "./JobsHandlers.js"
import * as KnownOptions from "./KnownOptions.js"
import * as LoopsHandlers from "./LoopsHandlers.js"
import * as OcrHandlers from "./OcrHandlers.js"
import * as RequestId from "./RequestId.js"
import * as RequestLog from "./RequestLog.js"
import * as Routes from "./Routes.js"
import * as SystemHandlers from "./SystemHandlers.js"
import * as Upload from "./Upload.js"

/** The routes as the router matches them, the API's plus the documentation served beside it. */
export const routes = Routes.make(Api, [["GET", "/openapi.json"], ["GET", "/docs"]])

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
  ]),
  Layer.provide([Auth.layer, Layer.succeed(KnownOptions.KnownOptions, KnownOptions.make(routes))])
)

/**
 * Node answers `Expect: 100-continue` by itself unless told otherwise; an upload declared over the limit gets
 * its 413 instead of a 100, so the client never sends the body.
 */
const refuseOversizedContinue = (limits: Upload.UploadLimits) => () => {
  const server = createServer()
  server.on("checkContinue", (request, response) => {
    if (Upload.fits(limits, request.headers)) response.writeContinue()
    server.emit("request", request, response)
  })
  return server
}

const listen = Layer.unwrapEffect(Effect.gen(function*() {
  const { host, port } = yield* Address.config
  const upload = yield* Upload.Upload
  return NodeHttpServer.layer(refuseOversizedContinue(upload.limits), { host, port }).pipe(
    Layer.tap(() => Effect.logInfo(`listening on http://${host}:${port}`))
  )
}))

/** A failure the framework answers before our error boundary sees it still gets a typed body. */
const typedBody = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) => {
  if (response.status < 400 || response.body._tag !== "Empty" || request.method === "HEAD") return response
  const [_tag, message] = response.status === 404
    ? ["NotFound", `no route for ${request.method} ${request.url.split("?")[0]}`]
    : response.status < 500
    ? ["MalformedRequest", `the request could not be read (HTTP ${response.status})`]
    : ["InternalError", `an unexpected error occurred (HTTP ${response.status})`]
  return HttpServerResponse.unsafeJson({ _tag, message }, { status: response.status, headers: response.headers })
}

/**
 * Headers the typed errors imply. A 413 answered before the whole body arrived closes the connection, which
 * would otherwise carry the client's next request behind the rest of the rejected upload. A 401 names its
 * scheme, a 405 the methods the path takes, a 503 when to come back.
 */
const errorHeaders = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) => {
  switch (response.status) {
    case 401:
      return HttpServerResponse.setHeader(response, "www-authenticate", "Bearer")
    case 405:
      return HttpServerResponse.setHeader(response, "allow", routes.allowed(request.url).join(", "))
    case 413:
      return NodeHttpServerRequest.toIncomingMessage(request).complete ? response : HttpServerResponse.setHeader(response, "connection", "close")
    case 503:
      return HttpServerResponse.setHeader(response, "retry-after", "1")
    default:
      return response
  }
}

// Pre-response handlers, since the response is already written by the time a middleware sees it.
const finishResponses = HttpMiddleware.make((app) =>
  Effect.zipRight(
    HttpApp.appendPreResponseHandler((request, response) => Effect.succeed(errorHeaders(request, typedBody(request, response)))),
    app
  )
)

/**
 * Built after the server, so released before it: readiness turns 503 at once, then the pool drains (in-flight
 * tasks get the grace period, queued ones a typed 503) while the server still answers, and only then does the
 * server close, which waits for every open request.
 */
const drainFirst = Layer.scopedDiscard(Effect.gen(function*() {
  const pool = yield* WorkerPool
  const drain = yield* DrainState
  yield* Effect.addFinalizer(() =>
    Effect.logInfo("shutting down: draining the worker pool").pipe(Effect.zipRight(drain.begin), Effect.zipRight(pool.drain))
  )
}))

/** The API served with its cross-cutting middleware (request id, access log and metrics, error headers) and docs. */
export const serve = Layer.unwrapEffect(Effect.gen(function*() {
  const observed = RequestLog.middleware(yield* Effect.serviceOption(Metrics), routes)
  return HttpApiBuilder.serve((app) => RequestId.middleware(observed(finishResponses(app)))).pipe(
    Layer.provide(HttpApiBuilder.middleware(Api, ErrorBoundary.refine(routes))),
    // The interactive page's assets are inlined: it works offline.
    Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }))
  )
}))

export const HttpLive = drainFirst.pipe(
  Layer.provide(serve.pipe(Layer.provide(ApiLive), Layer.provide(listen))),
  Layer.provide(Upload.layer)
)
