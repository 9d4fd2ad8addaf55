/**
 * `../shared` beside the checkout holds the real models, photos and audio the feature tests run on. A test that
 * needs some of it asks `shared.has(...)`: under `CI=true` a missing file fails the run at once, with its path;
 * elsewhere the test is skipped and the reason is printed in the run's summary (test/support/globalSetup.ts).
 */
import { appendFileSync, existsSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../../../shared", import.meta.url))

/** The absolute path of a file under ../shared, e.g. `path("data/models/MobileFaceNet.onnx")`. */
export const file = (...parts: ReadonlyArray<string>) => path.join(root, ...parts)

export const inCi = () => process.env["CI"] === "true" || process.env["CI"] === "1"

/** Records a skip with its reason, or throws under CI=true, where nothing may be skipped. */
export const skipping = (what: string, reason: string): false => {
  const message = `${what}: ${reason}`
  if (inCi()) throw new Error(`CI=true and ${message}; nothing may be skipped in CI`)
  const log = process.env["INFERD_TEST_SKIPS"]
  if (log !== undefined) appendFileSync(log, `${message}\n`)
  return false
}

/** Whether every path (relative to ../shared) exists; see `skipping` for what happens when one does not. */
export const has = (what: string, ...relative: ReadonlyArray<string>): boolean => {
  const missing = relative.filter((p) => !existsSync(file(p)))
  return missing.length === 0 || skipping(what, `../shared lacks ${missing.join(", ")}`)
}
