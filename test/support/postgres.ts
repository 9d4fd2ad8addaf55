/**
 * A database of its own for each test on the suite's one PostgreSQL server (started by globalSetup.ts), so
 * tests running at once never see each other's runners or jobs.
 */
import { randomUUID } from "node:crypto"
import pg from "pg"

export const serverUrl = () => {
  const url = process.env["INFERD_TEST_POSTGRES_URL"]
  if (url === undefined) throw new Error("INFERD_TEST_POSTGRES_URL is unset: test/support/globalSetup.ts starts PostgreSQL")
  return url
}

/** Creates an empty database and answers its URL. */
export const freshDatabase = async () => {
  const name = `inferd_${randomUUID().replaceAll("-", "")}`
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrl())
  url.pathname = `/${name}`
  return url.toString()
}
