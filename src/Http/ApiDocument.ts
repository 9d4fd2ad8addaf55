/**
 * What the OpenAPI document says beyond what the framework derives from the schemas: the headers that come
 * with some answers (a client generated from the document should know them), and no trace of the framework's
 * own decode error, which the error boundary turns into `MalformedRequest` before any client sees it.
 */
import { Predicate } from "effect"
import { examples } from "./ApiExamples.js"

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

/**
 * A parameter's example, from what its schema says: its own example, its default or first choice. Never its
 * least value: /docs prefills the example, and `timeoutMs=1` or `dpi=36` is no request anyone means to send.
 */
const parameterExample = (parameter: Json) => {
  const schema = Predicate.isRecord(parameter["schema"]) ? parameter["schema"] : {}
  const example = (Array.isArray(schema["examples"]) ? schema["examples"][0] : undefined) ?? schema["default"] ??
    (Array.isArray(schema["enum"]) ? schema["enum"][0] : undefined)
  if (example !== undefined && parameter["example"] === undefined) parameter["example"] = example
}

/** The server-sent events' `data`, which OpenAPI 3.1 has no field for, named in an extension. */
const eventData = (response: Json) => {
  const stream = Predicate.isRecord(response["content"]) ? response["content"]["text/event-stream"] : undefined
  if (Predicate.isRecord(stream) && Predicate.isRecord(stream["schema"])) stream["schema"]["x-event-data"] = { $ref: "#/components/schemas/Job" }
}

export const transform = (spec: Json): Json => {
  for (const path of records(spec["paths"])) {
    for (const operation of records(path)) {
      for (const parameter of Array.isArray(operation["parameters"]) ? operation["parameters"] : []) if (Predicate.isRecord(parameter)) parameterExample(parameter)
      for (const [status, response] of Object.entries(Predicate.isRecord(operation["responses"]) ? operation["responses"] : {})) {
        if (!Predicate.isRecord(response)) continue
        if (headers[status] !== undefined) response["headers"] = { ...(Predicate.isRecord(response["headers"]) ? response["headers"] : {}), ...headers[status] }
        withoutDecodeError(response)
        eventData(response)
        if (status === "400") response["description"] = "The request is malformed: see `message` and `parameter`"
      }
    }
  }
  const components = spec["components"]
  if (Predicate.isRecord(components) && Predicate.isRecord(components["schemas"])) {
    const schemas = components["schemas"]
    for (const name of ["HttpApiDecodeError", "Issue", "PropertyKey"]) delete schemas[name]
    for (const [name, example] of Object.entries(examples)) {
      const schema = schemas[name]
      if (Predicate.isRecord(schema)) schema["examples"] = [example]
    }
  }
  return spec
}
