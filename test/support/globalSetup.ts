/**
 * Runs once before the suite: bundles src/ (the worker thread and the daemon run the bundles in dist/), so a
 * test never runs an old build; and afterwards prints every test skipped for a missing fixture or tool.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = new URL("../../", import.meta.url).pathname

export default function setup() {
  execFileSync(process.execPath, ["scripts/bundle.mjs"], { cwd: root, stdio: "inherit" })
  const dir = mkdtempSync(join(tmpdir(), "inferd-skips-"))
  const log = join(dir, "skips.txt")
  process.env["INFERD_TEST_SKIPS"] = log
  return () => {
    const skips = existsSync(log) ? [...new Set(readFileSync(log, "utf8").split("\n").filter(Boolean))] : []
    if (skips.length > 0) console.log(`\n${skips.length} skipped for a missing fixture or tool (fatal under CI=true):\n  ${skips.join("\n  ")}\n`)
    rmSync(dir, { recursive: true, force: true })
  }
}
