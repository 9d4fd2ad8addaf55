/**
 * One access-log line per request (method, route template, status, milliseconds, request id, bytes in), at
 * info, or warn for a 5xx, whose cause the error boundary has already logged; and, with metrics on, every
 * request counted and timed by route template (`/v1/loops/{name}/run`, not each name), so the label set stays
 * bounded whatever clients send. Templates come from the route table, which matches as the router does.
 */
import { HttpApp, HttpMiddleware } from "@effect/platform"
import { Clock, Effect, FiberRef, Option } from "effect"
import type { MetricsService } from "../Layers/Metrics.js"
import type { RouteTable } from "./Routes.js"
import { bytesRead } from "./Upload.js"

export const middleware = (metrics: Option.Option<MetricsService>, routes: RouteTable) =>
  HttpMiddleware.make((app) =>
    Effect.flatMap(Clock.currentTimeMillis, (start) =>
      Effect.zipRight(
        HttpApp.appendPreResponseHandler((request, response) =>
          Effect.gen(function*() {
            const ms = (yield* Clock.currentTimeMillis) - start
            const route = routes.find(request.method, request.url)?.template ?? "unmatched"
            const status = response.status
            if (Option.isSome(metrics)) {
              const labels = { route, method: request.method, status: String(status) }
              metrics.value.httpRequests.inc(labels)
              metrics.value.httpDuration.observe(labels, ms / 1000)
            }
            const counted = yield* FiberRef.get(bytesRead)
            const bytesIn = counted > 0 ? counted : Number(request.headers["content-length"] ?? 0)
            const line = { method: request.method, route, status, ms, requestId: response.headers["x-request-id"] ?? "", bytesIn }
            const message = `${request.method} ${route} ${status} ${ms} ms`
            yield* Effect.annotateLogs(status >= 500 ? Effect.logWarning(message) : Effect.logInfo(message), line)
            return response
          })
        ),
        app
      )
    )
  )
