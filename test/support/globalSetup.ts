/**
 * Runs once before the suite: bundles src/ (the worker thread and the daemon run the bundles in dist/), so a
 * test never runs an old build, and starts one real PostgreSQL for the tests of the cluster mode (each makes
 * a database of its own: test/support/postgres.ts). Afterwards it prints every test skipped for a missing fixture or tool, and
 * fails the run if a test saw an answer the OpenAPI document does not declare (test/support/statuses.ts).
 */
import { OpenApi } from "@effect/platform"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Api } from "../../src/Http/Api.js"
import { startPostgres } from "./postgres.js"
import type { Seen } from "./statuses.js"

const root = new URL("../../", import.meta.url).pathname

const lines = (file: string) => existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []

/** The answers seen that the document lacks: a route it has not, or a status the route does not declare. */
const undeclared = (seen: ReadonlyArray<Seen>) => {
  const paths = OpenApi.fromApi(Api).paths as Record<string, Record<string, { responses: Record<string, unknown> } | undefined>>
  const outside = new Set(["unmatched", "/openapi.json", "/docs"])
  const missing = seen.filter(({ method, route, status }) => {
    if (outside.has(route)) return false
    const operation = paths[route]?.[method.toLowerCase() === "head" ? "get" : method.toLowerCase()]
    return operation === undefined || operation.responses[String(status)] === undefined
  })
  return [...new Set(missing.map(({ method, route, status }) => `${method} ${route} ${status}`))]
}

export default async function setup() {
  // initdb runs in processes of its own while the bundle is built.
  const postgres = startPostgres()
  postgres.catch(() => undefined)
  execFileSync(process.execPath, ["scripts/bundle.mjs"], { cwd: root, stdio: "inherit" })
  const database = await postgres
  process.env["INFERD_TEST_POSTGRES_URL"] = database.url
  const dir = mkdtempSync(join(tmpdir(), "inferd-test-run-"))
  process.env["INFERD_TEST_SKIPS"] = join(dir, "skips.txt")
  process.env["INFERD_TEST_STATUSES"] = join(dir, "statuses.txt")
  return async () => {
    await database.stop()
    const skips = [...new Set(lines(join(dir, "skips.txt")))]
    const seen = lines(join(dir, "statuses.txt")).map((line) => JSON.parse(line) as Seen)
    rmSync(dir, { recursive: true, force: true })
    if (skips.length > 0) console.log(`\n${skips.length} skipped for a missing fixture or tool (fatal under CI=true):\n  ${skips.join("\n  ")}\n`)
    const missing = undeclared(seen)
    console.log(`${seen.length} answers seen by tests, over ${new Set(seen.map((s) => `${s.method} ${s.route}`)).size} routes`)
    if (missing.length > 0) throw new Error(`answers the OpenAPI document does not declare:\n  ${missing.join("\n  ")}`)
  }
}
