/**
 * The API's routes as the server's router sees them. The platform routes with find-my-way-ts under its default
 * configuration (case-insensitive, percent-decoded, duplicate and trailing slashes ignored), so a table built
 * with the same router matches exactly the spellings the server accepts: `/V1/OCR/` is `/v1/ocr` here too.
 * It answers which template a request hit (for metrics and the access log), which methods a path takes (for
 * 405 and its `Allow`), and which query options an endpoint takes (for refusing the ones it does not).
 */
import { HttpApi, type HttpApiGroup } from "@effect/platform"
import { Option, SchemaAST } from "effect"
import * as FindMyWay from "find-my-way-ts"

export interface Route {
  /** The path as OpenAPI writes it: `/v1/jobs/{id}`. */
  readonly template: string
  /** The query options the endpoint takes. */
  readonly options: ReadonlyArray<string>
}

const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const

/** The names of a query schema's fields, as they appear in the URL (its encoded side). */
const optionNames = (schema: Option.Option<{ readonly ast: SchemaAST.AST }>): ReadonlyArray<string> =>
  Option.match(schema, {
    onNone: () => [],
    onSome: (s) => SchemaAST.getPropertySignatures(SchemaAST.encodedAST(s.ast)).map((p) => String(p.name))
  })

export interface RouteTable {
  /** The route a request matches, the way the server's router would match it. */
  readonly find: (method: string, url: string) => Route | undefined
  /** The methods some route takes on this path (empty: no such path). */
  readonly allowed: (url: string) => ReadonlyArray<string>
  /** The route keyed by the router's own path (`/v1/jobs/:id`) and method, as a handler sees it. */
  readonly byPath: (method: string, path: string) => Route | undefined
}

/** Builds the table from an API, plus routes served outside it (the OpenAPI document, the docs page). */
export const make = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  extra: ReadonlyArray<readonly [string, string]>
): RouteTable => {
  const router = FindMyWay.make<Route>()
  const paths = new Map<string, Route>()
  const add = (method: string, path: string, route: Route) => {
    router.on(method, path as FindMyWay.PathInput, route)
    paths.set(`${method} ${path}`, route)
    // The server answers HEAD from a GET route.
    if (method === "GET") router.on("HEAD", path as FindMyWay.PathInput, route)
  }
  HttpApi.reflect(api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) =>
      add(endpoint.method, endpoint.path, {
        template: endpoint.path.replace(/:(\w+)/g, "{$1}"),
        options: optionNames(endpoint.urlParamsSchema)
      })
  })
  for (const [method, path] of extra) add(method, path, { template: path, options: [] })
  return {
    find: (method, url) => router.find(method, url)?.handler,
    allowed: (url) => methods.filter((method) => router.find(method, url) !== undefined),
    byPath: (method, path) => paths.get(`${method} ${path}`)
  }
}
