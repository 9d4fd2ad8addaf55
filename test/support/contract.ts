/**
 * openapi-typescript over a document, and the contract client's type errors against the result (see
 * test/e2e/Contract.test.ts).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import openapiTS, { astToString } from "openapi-typescript"
import ts from "typescript"
import { root } from "./daemon.js"

export const contract = join(root, "test/contract")

const blob = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"))

/** Types for a document, as openapi-typescript's README shows for binary bodies. */
export const generate = async (document: string) =>
  astToString(await openapiTS(document, { transform: (schema) => (schema.format === "binary" ? blob : undefined) }))

/** The client's type errors against a document, one line each (none is the contract kept). */
export const typeErrors = async (document: string) => {
  mkdirSync(join(contract, ".generated"), { recursive: true })
  writeFileSync(join(contract, ".generated/schema.d.ts"), await generate(document))
  try {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(contract, "tsconfig.json")], { encoding: "utf8" })
    return []
  } catch (error) {
    const errors = String((error as { stdout?: string }).stdout ?? "").split("\n").filter((line) => line.includes("error TS"))
    if (errors.length === 0) throw error
    return errors
  }
}
