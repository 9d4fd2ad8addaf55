// The peers' worker: echo a small object; with a payload, answer its size (what inferd's Echo does).
import { parentPort } from "node:worker_threads"
export default ({ n, data }) => ({ n, bytes: data ? data.byteLength : 0 })
if (parentPort && process.env.RAW_ECHO === "1") {
  parentPort.on("message", ({ id, n, data }) => parentPort.postMessage({ id, n, bytes: data ? data.byteLength : 0 }))
}
