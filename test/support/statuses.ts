/**
 * Every answer a test saw, as `method route status`, so the global teardown can check that the OpenAPI document
 * declares each of them: a route the router serves, or a status it was seen to answer, missing from the
 * document is a contract a generated client cannot know. In-process servers record through `send`; daemons
 * started as child processes through their access log.
 */
import { appendFileSync } from "node:fs"

export interface Seen {
  readonly method: string
  readonly route: string
  readonly status: number
}

export const record = (seen: ReadonlyArray<Seen>) => {
  const file = process.env["INFERD_TEST_STATUSES"]
  if (file !== undefined && seen.length > 0) appendFileSync(file, seen.map((s) => `${JSON.stringify(s)}\n`).join(""))
}

/** The answers in a daemon's JSON access log. */
export const fromLog = (log: string): ReadonlyArray<Seen> =>
  log.split("\n").flatMap((line) => {
    if (!line.startsWith("{") || !line.includes("\"route\"")) return []
    try {
      const fields = (JSON.parse(line) as { annotations?: Record<string, unknown> }).annotations ?? {}
      const { method, route, status } = fields
      return typeof method === "string" && typeof route === "string" && typeof status === "number" ? [{ method, route, status }] : []
    } catch {
      return []
    }
  })
