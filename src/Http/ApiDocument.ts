/**
 * What the OpenAPI document says beyond what the framework derives from the schemas: the headers that come
 * with some answers (a client generated from the document should know them), and no trace of the framework's
 * own decode error, which the error boundary turns into `MalformedRequest` before any client sees it.
 */
import { Predicate } from "effect"

type Json = Record<string, unknown>

const records = (value: unknown): Array<Json> =>
  Predicate.isRecord(value) ? Object.values(value).filter(Predicate.isRecord) : []

const header = (description: string, schema: Json = { type: "string" }) => ({ description, schema })

/** Headers by status, on every operation that answers it. */
const headers: Record<string, Json> = {
  "202": { Location: header("where the job is: `/v1/jobs/{id}`") },
  "401": { "WWW-Authenticate": header("`Bearer`: the scheme the route needs") },
  "405": { Allow: header("the methods the path takes, comma-separated") },
  "503": { "Retry-After": header("seconds to wait before retrying", { type: "integer", minimum: 0 }) }
}

const decodeError = "#/components/schemas/HttpApiDecodeError"

/** Drops the framework's decode error from a response's union of errors. */
const withoutDecodeError = (response: Json) => {
  for (const media of records(response["content"])) {
    const schema = media["schema"]
    if (!Predicate.isRecord(schema) || !Array.isArray(schema["anyOf"])) continue
    const rest = schema["anyOf"].filter((s: unknown) => !(Predicate.isRecord(s) && s["$ref"] === decodeError))
    media["schema"] = rest.length === 1 ? rest[0] : { ...schema, anyOf: rest }
  }
}

export const transform = (spec: Json): Json => {
  for (const path of records(spec["paths"])) {
    for (const operation of records(path)) {
      for (const [status, response] of Object.entries(Predicate.isRecord(operation["responses"]) ? operation["responses"] : {})) {
        if (!Predicate.isRecord(response)) continue
        if (headers[status] !== undefined) response["headers"] = { ...(Predicate.isRecord(response["headers"]) ? response["headers"] : {}), ...headers[status] }
        withoutDecodeError(response)
        if (status === "400") response["description"] = "The request is malformed: see `message` and `parameter`"
      }
    }
  }
  const components = spec["components"]
  if (Predicate.isRecord(components) && Predicate.isRecord(components["schemas"])) {
    for (const name of ["HttpApiDecodeError", "Issue", "PropertyKey"]) delete components["schemas"][name]
  }
  return spec
}
