/** The built daemon as a child process, for end-to-end tests: a free loopback port, its log, its exit code. */
import { type ChildProcess, spawn } from "node:child_process"
import { request as httpRequest } from "node:http"
import { mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as statuses from "./statuses.js"

export const root = new URL("../../", import.meta.url).pathname
export const bin = join(root, "bin/inferd.js")

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

/** Polls `check` every 200 ms for up to `ms`; answers whether it came true. */
export const waitFor = async (check: () => Promise<boolean>, ms: number) => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check().catch(() => false)) return true
    await new Promise((r) => setTimeout(r, 200))
  }
  return false
}

export interface Daemon {
  readonly child: ChildProcess
  /** Its working directory (where `./var`, the default data folder, lives). */
  readonly cwd: string
  readonly base: string
  readonly exit: Promise<number | null>
  readonly log: () => string
}

/** `inferd serve` on a free port, in a fresh working directory (or `cwd`), with JSON logs collected. */
export const startDaemon = async (env: Record<string, string>, cwd = mkdtempSync(join(tmpdir(), "inferd-e2e-cwd-"))): Promise<Daemon> => {
  const port = await freePort()
  const child = spawn(process.execPath, [bin, "serve"], {
    cwd,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", INFERD_LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let log = ""
  child.stdout?.on("data", (d) => (log += d))
  child.stderr?.on("data", (d) => (log += d))
  const exit = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      statuses.record(statuses.fromLog(log))
      resolve(code)
    }))
  return { child, cwd, base: `http://127.0.0.1:${port}`, exit, log: () => log }
}

/** Waits up to 90 s for /health/ready. */
export const ready = (daemon: Daemon) => waitFor(async () => (await fetch(`${daemon.base}/health/ready`)).status === 200, 90_000)

export interface RawReply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
  readonly body: Record<string, unknown>
  /** Whether the server sent `100 Continue` before its answer. */
  readonly continued: boolean
}

/**
 * One request exactly as written: the path goes out unnormalised (`//v1/ocr`, `/%761/ocr`, `/x/../v1/ocr`),
 * which `fetch` would rewrite. A body given as chunks is sent with chunked transfer encoding; `waitForContinue`
 * holds the body until the server says `100 Continue` (and sends none if it answers first).
 */
export const raw = (base: string, method: string, path: string, options: {
  readonly headers?: Record<string, string>
  readonly body?: Uint8Array
  readonly chunks?: ReadonlyArray<Uint8Array>
  readonly waitForContinue?: boolean
} = {}) =>
  new Promise<RawReply>((resolve, reject) => {
    const url = new URL(base)
    let continued = false
    const request = httpRequest({ host: url.hostname, port: url.port, method, path, agent: false, headers: options.headers }, (response) => {
      let text = ""
      response.setEncoding("utf8").on("data", (d: string) => (text += d)).on("end", () => {
        let body: Record<string, unknown> = {}
        try {
          body = text === "" ? {} : JSON.parse(text) as Record<string, unknown>
        } catch {
          body = { text }
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, continued })
      })
    })
    request.on("error", reject)
    const send = () => {
      if (options.body !== undefined) request.write(options.body)
      for (const chunk of options.chunks ?? []) request.write(chunk)
      request.end()
    }
    if (options.waitForContinue === true) {
      request.on("continue", () => {
        continued = true
        send()
      })
      request.flushHeaders()
    } else {
      send()
    }
  })
