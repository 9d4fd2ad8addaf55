/**
 * Parsers for the kernel files that describe a process's cgroups. Each one is strict: the kernel writes these
 * files in a fixed shape, so anything else (empty, truncated, garbage) is rejected with a reason rather than
 * half-read, and the caller falls back to the next source.
 */
import { Either } from "effect"
import * as NodePath from "node:path"

/** One line of `/proc/self/mountinfo` (proc(5)), with only the fields cgroup lookup needs. */
export interface Mount {
  /** The mount's root inside its filesystem: for cgroups, the cgroup directory shown at `mountPoint`. */
  readonly root: string
  readonly mountPoint: string
  readonly fstype: string
  readonly superOptions: ReadonlyArray<string>
}

/** One line of `/proc/self/cgroup`: `hierarchy-id:controller-list:cgroup-path` (`0::/path` on cgroup v2). */
export interface CgroupEntry {
  readonly hierarchyId: string
  readonly controllers: ReadonlyArray<string>
  readonly path: string
}

// mountinfo escapes space, tab, newline and backslash in paths as three-digit octal (\040).
const unescape = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))

const lines = (text: string): ReadonlyArray<string> => text.split("\n").filter((line) => line.trim() !== "")

// A file with one bad line is not trusted at all: the kernel never writes one, so the file is not what we think.
const parseLines = <A>(
  text: string,
  what: string,
  parseLine: (line: string) => A | undefined
): Either.Either<ReadonlyArray<A>, string> => {
  const all = lines(text)
  if (all.length === 0) return Either.left(`empty ${what}`)
  const parsed: Array<A> = []
  for (const line of all) {
    const value = parseLine(line)
    if (value === undefined) return Either.left(`not a ${what} line: ${JSON.stringify(line.slice(0, 80))}`)
    parsed.push(value)
  }
  return Either.right(parsed)
}

const parseMountLine = (line: string): Mount | undefined => {
  const fields = line.split(" ")
  // Six fixed fields, optional fields (shared:N, master:N, ...), then "-" and fstype, source, super options.
  const dash = fields.indexOf("-", 6)
  if (dash === -1 || fields.length < dash + 4) return undefined
  if (!/^\d+$/.test(fields[0]!) || !/^\d+:\d+$/.test(fields[2]!)) return undefined
  return {
    root: unescape(fields[3]!),
    mountPoint: unescape(fields[4]!),
    fstype: fields[dash + 1]!,
    superOptions: fields[dash + 3]!.split(",")
  }
}

export const parseMountinfo = (text: string): Either.Either<ReadonlyArray<Mount>, string> =>
  parseLines(text, "mountinfo", parseMountLine)

const parseCgroupLine = (line: string): CgroupEntry | undefined => {
  // The path may itself contain ':', so split on the first two only.
  const match = /^(\d+):([^:]*):(\/.*)$/.exec(line)
  if (match === null) return undefined
  return { hierarchyId: match[1]!, controllers: match[2] === "" ? [] : match[2]!.split(","), path: match[3]! }
}

export const parseProcCgroup = (text: string): Either.Either<ReadonlyArray<CgroupEntry>, string> =>
  parseLines(text, "/proc/self/cgroup", parseCgroupLine)

const positiveInt = (text: string): number | undefined => {
  if (!/^\d+$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

/**
 * `cpu.max` (v2): `max PERIOD` or `QUOTA PERIOD` in microseconds. Returns the quota in CPUs, `null` when
 * unlimited (`max`, or a period of 0, which cannot throttle anything).
 */
export const parseCpuMax = (text: string): Either.Either<number | null, string> => {
  const fields = text.trim().split(/\s+/)
  const [quota, period] = fields
  if (fields.length === 1 && quota === "max") return Either.right(null)
  if (fields.length !== 2 || quota === undefined || period === undefined || !/^\d+$/.test(period)) {
    return Either.left(`expected "max PERIOD" or "QUOTA PERIOD", got ${JSON.stringify(text.trim().slice(0, 80))}`)
  }
  if (quota === "max" || Number(period) === 0) return Either.right(null)
  const us = positiveInt(quota)
  return us === undefined
    ? Either.left(`expected a positive quota, got ${JSON.stringify(quota)}`)
    : Either.right(us / Number(period))
}

/** `cpu.cfs_quota_us` (v1): microseconds per period, `-1` when unlimited. */
export const parseCfsQuota = (text: string): Either.Either<number | null, string> => {
  const value = text.trim()
  if (value === "-1") return Either.right(null)
  const us = positiveInt(value)
  return us === undefined
    ? Either.left(`expected -1 or a positive integer, got ${JSON.stringify(value)}`)
    : Either.right(us)
}

/** `cpu.cfs_period_us` (v1): microseconds; 0 is accepted here and means "no quota". */
export const parseCfsPeriod = (text: string): Either.Either<number, string> => {
  const value = text.trim()
  return /^\d+$/.test(value) && Number.isSafeInteger(Number(value))
    ? Either.right(Number(value))
    : Either.left(`expected an integer, got ${JSON.stringify(value)}`)
}

/** A kernel cpu list such as `0-3,8,10-11` (cpuset.cpus, cpuset.cpus.effective), counted. */
export const parseCpuList = (text: string): Either.Either<number, string> => {
  const value = text.trim()
  let count = 0
  for (const range of value.split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(range)
    const first = match === null ? NaN : Number(match[1])
    const last = match === null ? NaN : Number(match[2] ?? match[1])
    // NaN compares false, so a malformed range fails here too.
    if (!(first <= last)) {
      return Either.left(`expected a cpu list like 0-3,8, got ${JSON.stringify(value.slice(0, 80))}`)
    }
    count += last - first + 1
  }
  return Either.right(count)
}

/**
 * The directories to read for a cgroup, from the process's own up to the mount point, as paths on the host
 * (relative to the filesystem root). The cgroup path is relative to the hierarchy's root; the mount shows the
 * subtree at `mount.root` (a container's own cgroup, or "/" inside a cgroup namespace). `undefined` when the
 * cgroup lies outside what the mount shows.
 */
export const cgroupDirs = (mount: Mount, cgroupPath: string): ReadonlyArray<string> | undefined => {
  // "/.." appears when the process sits outside its cgroup namespace; no mount can show that.
  if (cgroupPath.split("/").includes("..")) return undefined
  const root = NodePath.posix.normalize(mount.root).replace(/\/$/, "")
  const path = NodePath.posix.normalize(cgroupPath)
  if (root !== "" && path !== root && !path.startsWith(`${root}/`)) return undefined
  const relative = path.slice(root.length).split("/").filter((segment) => segment !== "")
  const dirs: Array<string> = []
  for (let depth = relative.length; depth >= 0; depth--) {
    dirs.push(NodePath.posix.join(mount.mountPoint, ...relative.slice(0, depth)))
  }
  return dirs
}
