/**
 * The README's error table is the contract users read: every error the API can answer (from its OpenAPI
 * document, which the global teardown checks against what tests saw) has a row with its status and `_tag`.
 */
import { OpenApi } from "@effect/platform"
import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { Api } from "../src/Http/Api.js"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const rows = new Set([...readme.matchAll(/^\| (\d{3}) \| `(\w+)` \|/gm)].map(([, status, tag]) => `${status} ${tag}`))

type Json = Record<string, unknown>
const spec = OpenApi.fromApi(Api) as unknown as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>>; components: { schemas: Record<string, Json> } }

/** Every `status _tag` the document declares for an error answer. */
const declared = () => {
  const refs = (schema: Json): Array<string> =>
    typeof schema["$ref"] === "string" ? [schema["$ref"].split("/").pop()!] : Array.isArray(schema["anyOf"]) ? (schema["anyOf"] as Array<Json>).flatMap(refs) : []
  const pairs = new Set<string>()
  for (const path of Object.values(spec.paths)) {
    for (const operation of Object.values(path)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue
        for (const media of Object.values(response.content ?? {})) {
          for (const name of refs(media.schema)) {
            const tag = ((spec.components.schemas[name]?.["properties"] as Json | undefined)?.["_tag"] as { enum?: Array<string> } | undefined)?.enum?.[0]
            if (tag !== undefined) pairs.add(`${status} ${tag}`)
          }
        }
      }
    }
  }
  return [...pairs].sort()
}

describe("README", () => {
  it("lists every error the API declares, with its status", () => {
    const errors = declared()
    expect(errors.length).toBeGreaterThan(20)
    expect(errors.filter((pair) => !rows.has(pair))).toEqual([])
  })
})
