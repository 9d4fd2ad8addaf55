/**
 * A child cgroup with a CFS quota, for end-to-end tests of the pool under a real CPU limit: cgroup v1's `cpu`
 * controller (`cpu.cfs_quota_us`) or v2's `cpu.max`. Creating one needs root and a hierarchy that offers the
 * cpu controller; each hierarchy says why it cannot be used when it cannot.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export interface Hierarchy {
  readonly version: "v1" | "v2"
  /** The folder child groups are made in: this process's own group in the hierarchy. */
  readonly parent: string
}

export interface QuotaGroup {
  readonly dir: string
  /** Runs `command` (argv) inside the group: a shell joins it, then execs the command. */
  readonly spawnArgs: (command: ReadonlyArray<string>) => ReadonlyArray<string>
  /** Periods in which the group was throttled so far (`cpu.stat`'s `nr_throttled`). */
  readonly throttled: () => number
  /** Removes the group once every process in it has ended. */
  readonly remove: () => Promise<void>
}

interface MountLine {
  readonly mountPoint: string
  readonly root: string
  readonly fstype: string
  readonly superOptions: ReadonlyArray<string>
}

const mounts = (): ReadonlyArray<MountLine> =>
  readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean).map((line) => {
    const fields = line.split(" ")
    const dash = fields.indexOf("-")
    return { root: fields[3] ?? "", mountPoint: fields[4] ?? "", fstype: fields[dash + 1] ?? "", superOptions: (fields[dash + 3] ?? "").split(",") }
  })

/** This process's group path in hierarchy `id` (v1: the controller list names it; v2: `0::`). */
const ownPath = (matches: (controllers: ReadonlyArray<string>, id: string) => boolean) =>
  readFileSync("/proc/self/cgroup", "utf8").split("\n").filter(Boolean).map((line) => {
    const [id = "", controllers = "", ...path] = line.split(":")
    return { id, controllers: controllers.split(","), path: path.join(":") }
  }).find((entry) => matches(entry.controllers, entry.id))?.path

const writable = (dir: string) => {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** The hierarchy of `version` this machine lets this process make quota groups in, or why not. */
export const hierarchy = (version: "v1" | "v2"): Hierarchy | string => {
  if (process.platform !== "linux") return `not Linux (${process.platform})`
  if (process.getuid?.() !== 0) return "not root: only root may create cgroups here"
  if (version === "v1") {
    const mount = mounts().find((m) => m.fstype === "cgroup" && m.superOptions.includes("cpu"))
    if (mount === undefined) return "no cgroup v1 hierarchy with the cpu controller is mounted"
    const own = ownPath((controllers) => controllers.includes("cpu"))
    if (own === undefined) return "/proc/self/cgroup names no v1 cpu group"
    const parent = join(mount.mountPoint, own.slice(mount.root.length))
    if (!existsSync(join(parent, "cpu.cfs_quota_us")) || !writable(parent)) return `${parent} has no writable cpu.cfs_quota_us`
    return { version, parent }
  }
  const mount = mounts().find((m) => m.fstype === "cgroup2")
  if (mount === undefined) return "no cgroup v2 hierarchy is mounted"
  const own = ownPath((_, id) => id === "0")
  if (own === undefined) return "/proc/self/cgroup names no v2 group"
  const parent = join(mount.mountPoint, own.slice(mount.root.length))
  const offered = readFileSync(join(parent, "cgroup.controllers"), "utf8").trim().split(" ")
  if (!offered.includes("cpu")) return `the cgroup v2 hierarchy at ${mount.mountPoint} does not offer the cpu controller (offers: ${offered.join(" ") || "none"})`
  const enabled = readFileSync(join(parent, "cgroup.subtree_control"), "utf8").trim().split(" ")
  if (!enabled.includes("cpu")) {
    // Enabling a controller for children is refused in a group that holds processes, except at the root.
    try {
      writeFileSync(join(parent, "cgroup.subtree_control"), "+cpu")
    } catch (error) {
      return `cannot enable the cpu controller below ${parent}: ${error instanceof Error ? error.message : String(error)}`
    }
  }
  return { version, parent }
}

/** A new group under `hierarchy.parent` whose processes may use `cpus` CPUs (a 100 ms period). */
export const make = (hierarchy: Hierarchy, cpus: number): QuotaGroup => {
  const dir = join(hierarchy.parent, `inferd-test-${process.pid}-${Date.now()}`)
  mkdirSync(dir)
  const quotaUs = Math.round(cpus * 100_000)
  if (hierarchy.version === "v1") {
    writeFileSync(join(dir, "cpu.cfs_period_us"), "100000")
    writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quotaUs))
  } else {
    writeFileSync(join(dir, "cpu.max"), `${quotaUs} 100000`)
  }
  const procs = join(dir, "cgroup.procs")
  return {
    dir,
    spawnArgs: (command) => ["-c", `echo $$ > '${procs}' && exec "$@"`, "sh", ...command],
    throttled: () => Number(/nr_throttled (\d+)/.exec(readFileSync(join(dir, "cpu.stat"), "utf8"))?.[1] ?? NaN),
    remove: async () => {
      // A process that has just exited may still be listed for a moment.
      for (let attempt = 0; ; attempt++) {
        try {
          return rmdirSync(dir)
        } catch (error) {
          if (attempt >= 50) throw error
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
    }
  }
}
