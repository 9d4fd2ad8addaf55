/**
 * Query options as clients and their generated code see them: a client sends `?timeoutMs=30000` as text, but
 * the OpenAPI document says `integer` with its range, so a generated client takes a number. A value out of
 * range or of the wrong type fails with one message saying what the option takes, which the API's error
 * boundary turns into a 400 `MalformedRequest` naming the option. A `jsonSchema` annotation replaces the
 * whole generated schema, so each repeats its description for the document.
 */
import { Schema } from "effect"

const said = (accepts: string) => () => ({ message: `takes ${accepts}`, override: true })

const range = (min: number, max: number) =>
  max === Number.MAX_SAFE_INTEGER ? `from ${min}` : `from ${min} to ${max}`

/** What a numeric option is: its range, a typical value for the document's try-it (its default where it has one). */
interface Numeric { readonly min: number; readonly max: number; readonly example: number; readonly description: string }

/** An integer option from `min` to `max`. */
export const integer = (options: Omit<Numeric, "max"> & { readonly max?: number }) => {
  const max = options.max ?? Number.MAX_SAFE_INTEGER
  return Schema.NumberFromString.pipe(Schema.int(), Schema.between(options.min, max)).annotations({
    message: said(`an integer ${range(options.min, max)}`),
    jsonSchema: {
      type: "integer",
      minimum: options.min,
      ...(options.max === undefined ? {} : { maximum: max }),
      examples: [options.example],
      description: options.description
    },
    description: options.description
  })
}

/** A number option from `min` to `max`. */
export const number = (options: Numeric) =>
  Schema.NumberFromString.pipe(Schema.between(options.min, options.max)).annotations({
    message: said(`a number ${range(options.min, options.max)}`),
    jsonSchema: { type: "number", minimum: options.min, maximum: options.max, examples: [options.example], description: options.description },
    description: options.description
  })

/** `true` or `false`. */
export const boolean = (description: string) =>
  Schema.BooleanFromString.annotations({
    message: said("true or false"),
    jsonSchema: { type: "boolean", description },
    description
  })

/** One of a set of words. */
export const literal = <const L extends ReadonlyArray<string>>(values: L, description: string) =>
  Schema.Literal(...values).annotations({
    message: said(`one of ${values.join(", ")}`),
    description
  })

/** `?timeoutMs=`, which every task route takes: the task's deadline, capped by `INFERD_TASK_TIMEOUT`. */
export const timeoutMs = integer({
  min: 1,
  example: 30_000,
  description: "the task's deadline in milliseconds, queueing included; capped by INFERD_TASK_TIMEOUT. Past it the answer is 504 TaskTimeout"
})

/** `?async=true`: answer 202 with a job instead of waiting for the result. */
export const async = boolean("answer 202 at once with a job (see /v1/jobs/{id}) instead of waiting for the result")
