/**
 * The API through its own definition: `HttpApiClient.make(Api)` against the test server, so a test reads
 * answers decoded by the schemas the server declares (a body that strays from them fails the test) and gets
 * each route's declared errors typed in the error channel. Upload routes read their body themselves
 * (Upload.ts), which the generated client has no field for: their answers are decoded with the same schemas
 * by `decodeAs`. Every answer is recorded for the suite's check that each status is in the document.
 */
import { type HttpApi, type HttpApiGroup, HttpApiClient, HttpClient } from "@effect/platform"
import { Effect, Schema } from "effect"
import { Api } from "../../src/Http/Api.js"
import { OcrResult } from "../../src/Layers/OcrDocument.js"
import { routes } from "../../src/Http/Server.js"
import type { Reply } from "./server.js"
import * as statuses from "./statuses.js"

const recorded = HttpClient.tap((response) =>
  Effect.sync(() => {
    const path = new URL(response.request.url, "http://test").pathname
    statuses.record([{ method: response.request.method, route: routes.find(response.request.method, path)?.template ?? "unmatched", status: response.status }])
  }))

/** A typed client of `api` (the daemon's, or a test's API of some of its groups); needs the server's HttpClient. */
export const clientOf = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(api: HttpApi.HttpApi<Id, Groups, E, R>) =>
  HttpApiClient.make(api, { transformClient: recorded })

/** The daemon's API as a typed client. */
export const apiClient = clientOf(Api)

/** A raw reply's body as the API's schema for it: the test fails if the server sent anything else. */
export const decodeAs = <A, I>(schema: Schema.Schema<A, I>) => (reply: Reply) => Schema.decodeUnknown(schema)(reply.body)

/** A 200 answer read with the API's schema for it; any other status fails the test, showing the body. */
export const answer = <A, I>(schema: Schema.Schema<A, I>) => (reply: Reply) =>
  reply.status === 200 ? decodeAs(schema)(reply) : Effect.dieMessage(`expected 200, got ${reply.status}: ${JSON.stringify(reply.body)}`)

/** An OCR answer (OcrResult). */
export const ocrAnswer = answer(OcrResult)
