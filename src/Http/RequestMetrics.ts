/**
 * Counts and times every HTTP request by route template (`/v1/loops/{name}/run`, not each name), so the
 * label set stays bounded whatever clients send. Templates come from the API's own OpenAPI paths.
 */
import { HttpApp, HttpMiddleware, OpenApi } from "@effect/platform"
import { Clock, Effect, Option } from "effect"
import type { MetricsService } from "../Layers/Metrics.js"
import { Api } from "./Api.js"

const templates = Object.keys(OpenApi.fromApi(Api).paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`)
}))

const extra = ["/openapi.json", "/docs", "/metrics"]

/** The route template a path matches, or `unmatched`. */
export const routeOf = (path: string): string =>
  templates.find(({ pattern }) => pattern.test(path))?.template ?? (extra.includes(path) ? path : "unmatched")

export const middleware = (metrics: Option.Option<MetricsService>) =>
  Option.match(metrics, {
    onNone: () => HttpMiddleware.make((app) => app),
    onSome: (m) =>
      HttpMiddleware.make((app) =>
        Effect.flatMap(Clock.currentTimeMillis, (start) =>
          Effect.zipRight(
            HttpApp.appendPreResponseHandler((request, response) =>
              Effect.map(Clock.currentTimeMillis, (end) => {
                const labels = { route: routeOf(request.url.split("?")[0]!), method: request.method, status: String(response.status) }
                m.httpRequests.inc(labels)
                m.httpDuration.observe(labels, (end - start) / 1000)
                return response
              })
            ),
            app
          )
        )
      )
  })
