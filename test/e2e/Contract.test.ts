/**
 * The contract a generated client relies on: the running daemon's `/openapi.json` goes through openapi-typescript
 * (binary bodies as Blob, its documented transform), `test/contract/client.ts` must compile against the result
 * under --strict with no casts, and then do what it says against the same daemon.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as esbuild from "esbuild"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { contract, typeErrors } from "../support/contract.js"
import { type Daemon, ready, startDaemon } from "../support/daemon.js"

const token = "contract-test-token"
const image = new URL("../fixtures/images/testocr.png", import.meta.url).pathname

let daemon: Daemon

beforeAll(async () => {
  daemon = await startDaemon({ INFERD_API_TOKEN: token, INFERD_WORKERS: "1", INFERD_DATA_DIR: mkdtempSync(join(tmpdir(), "inferd-contract-")) })
  expect(await ready(daemon), daemon.log()).toBe(true)
}, 120_000)

afterAll(async () => {
  daemon.child.kill("SIGTERM")
  await daemon.exit
})

describe("a client generated from /openapi.json", () => {
  it("compiles under --strict with no casts, and runs against the daemon", async () => {
    const document = await (await fetch(`${daemon.base}/openapi.json`)).text()
    expect(await typeErrors(document)).toEqual([])
    const out = join(mkdtempSync(join(tmpdir(), "inferd-contract-client-")), "client.mjs")
    await esbuild.build({ entryPoints: [join(contract, "client.ts")], outfile: out, bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "error" })
    const printed = execFileSync(process.execPath, [out, daemon.base, token, image], { encoding: "utf8", timeout: 90_000 })
    expect(printed).toContain("sync: This is a lot of 12 point text")
    expect(printed).toMatch(/job: [\w-]+ at \/v1\/jobs\/[\w-]+/)
    expect(printed).toContain("job done: This is a lot of 12 point text")
    expect(printed).toMatch(/status: ok, 1 workers/)
    expect(printed).toContain("no token: 401 Unauthorized (Bearer)")
  }, 120_000)
})
