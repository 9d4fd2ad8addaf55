import * as FileSystem from "@effect/platform/FileSystem"
import { Array as Arr, Config, Context, Effect, Either, Layer, Option } from "effect"
import * as NodePath from "node:path"
import * as Os from "node:os"
import * as Cgroup from "./Cgroup.js"

export interface CpuInfo {
  /** CPUs this process may really use: what worker pools are sized by. Always at least 1. */
  readonly cpus: number
  /** The tightest CFS quota in CPUs (1.5 = 150ms per 100ms period), `null` when unlimited or unknown. */
  readonly quota: number | null
  /**
   * Where `cpus` came from: "cgroup2 cpu.max <file>", "cgroup1 cfs quota <file>", "cpuset <file>", "affinity" or
   * "INFERD_CPUS", with files named as the host sees them (without the detection root).
   */
  readonly source: string
}

/**
 * The number of CPUs this process may really use, as containers and systemd set it: the tightest cgroup CPU
 * quota (v1 or v2, walking up the hierarchy) floored, the cpuset, and the CPU affinity, whichever is smallest.
 * `INFERD_CPUS` (a positive integer, unset by default) overrides the detected count.
 */
export class CpuLimit extends Context.Tag("inferd/CpuLimit")<CpuLimit, CpuInfo>() {}

interface Bound {
  readonly value: number
  readonly source: string
}

// Keeps the first of equal bounds, so the deepest cgroup (read first) names the limit.
const tightest = (bounds: ReadonlyArray<Bound>): Bound | undefined =>
  bounds.reduce<Bound | undefined>(
    (best, bound) => (best !== undefined && best.value <= bound.value ? best : bound),
    undefined
  )

const cgroupLimits = (fs: FileSystem.FileSystem, root: string) => {
  const onRoot = (path: string) => NodePath.posix.join(root, path)

  // Absent files are normal (no /proc, controller not enabled in that cgroup); any other failure is worth a word.
  const read = (path: string): Effect.Effect<Option.Option<string>> =>
    fs.readFileString(onRoot(path)).pipe(
      Effect.map(Option.some),
      Effect.catchAll((error) =>
        error._tag === "SystemError" && error.reason === "NotFound"
          ? Effect.succeedNone
          : Effect.as(Effect.logWarning(`CpuLimit: cannot read ${onRoot(path)}: ${error.message}`), Option.none())
      )
    )

  const readParsed = <A>(path: string, parse: (text: string) => Either.Either<A, string>) =>
    Effect.flatMap(read(path), (text) =>
      Option.match(text, {
        onNone: () => Effect.succeedNone,
        onSome: (text) =>
          Either.match(parse(text), {
            onLeft: (reason) =>
              Effect.as(Effect.logWarning(`CpuLimit: ignoring ${onRoot(path)}: ${reason}`), Option.none<A>()),
            onRight: (value) => Effect.succeedSome(value)
          })
      }))

  // Each reader returns the bound found in one cgroup directory, if any.
  const cpuMax = (dir: string) =>
    Effect.gen(function*() {
      const file = NodePath.posix.join(dir, "cpu.max")
      const quota = Option.flatMap(yield* readParsed(file, Cgroup.parseCpuMax), Option.fromNullable)
      return Option.map(quota, (value): Bound => ({ value, source: `cgroup2 cpu.max ${file}` }))
    })

  const cfsQuota = (dir: string) =>
    Effect.gen(function*() {
      const file = NodePath.posix.join(dir, "cpu.cfs_quota_us")
      const quotaUs = Option.flatMap(yield* readParsed(file, Cgroup.parseCfsQuota), Option.fromNullable)
      if (Option.isNone(quotaUs)) return Option.none<Bound>()
      const period = yield* readParsed(NodePath.posix.join(dir, "cpu.cfs_period_us"), Cgroup.parseCfsPeriod)
      const source = `cgroup1 cfs quota ${file}`
      return Option.flatMap(period, (period) =>
        period === 0 ? Option.none() : Option.some<Bound>({ value: quotaUs.value / period, source }))
    })

  const cpuset = (name: string) => (dir: string) =>
    Effect.gen(function*() {
      const file = NodePath.posix.join(dir, name)
      const count = yield* readParsed(file, Cgroup.parseCpuList)
      return Option.map(count, (value): Bound => ({ value, source: `cpuset ${file}` }))
    })

  return Effect.gen(function*() {
    const mounts = yield* readParsed("/proc/self/mountinfo", Cgroup.parseMountinfo)
    const entries = yield* readParsed("/proc/self/cgroup", Cgroup.parseProcCgroup)
    if (Option.isNone(mounts) || Option.isNone(entries)) return { quota: undefined, cpuset: undefined }

    // The directories from the process's cgroup in one hierarchy up to its mount point: every limit on them applies.
    const dirsOf = (isEntry: (entry: Cgroup.CgroupEntry) => boolean, isMount: (mount: Cgroup.Mount) => boolean) =>
      Effect.gen(function*() {
        const entry = entries.value.find(isEntry)
        const candidates = mounts.value.filter(isMount)
        if (entry === undefined || candidates.length === 0) return []
        const dirs = candidates.map((mount) => Cgroup.cgroupDirs(mount, entry.path)).find((dirs) => dirs !== undefined)
        if (dirs !== undefined) return dirs
        yield* Effect.logWarning(
          `CpuLimit: cgroup ${entry.path} in ${onRoot("/proc/self/cgroup")} lies outside every mount of its hierarchy`
        )
        return []
      })
    const readAll = (dirs: ReadonlyArray<string>, readDir: (dir: string) => Effect.Effect<Option.Option<Bound>>) =>
      Effect.map(Effect.forEach(dirs, readDir), Arr.getSomes)

    const v2 = yield* dirsOf(
      (entry) => entry.hierarchyId === "0" && entry.controllers.length === 0,
      (mount) => mount.fstype === "cgroup2"
    )
    const v1 = (controller: string) =>
      dirsOf(
        (entry) => entry.hierarchyId !== "0" && entry.controllers.includes(controller),
        (mount) => mount.fstype === "cgroup" && mount.superOptions.includes(controller)
      )
    const v1Cpu = yield* v1("cpu")
    const v1Cpuset = yield* v1("cpuset")

    // On hybrid hosts a controller is bound to exactly one hierarchy, so the other one simply has no such files.
    const quotas = [...(yield* readAll(v2, cpuMax)), ...(yield* readAll(v1Cpu, cfsQuota))]
    const cpusets = [
      ...(yield* readAll(v2, cpuset("cpuset.cpus.effective"))),
      ...(yield* readAll(v1Cpuset, cpuset("cpuset.cpus")))
    ]
    return { quota: tightest(quotas), cpuset: tightest(cpusets) }
  })
}

// An invalid value is a typo worth hearing about, but not worth refusing to start over.
const cpusOverride = Config.integer("INFERD_CPUS").pipe(
  Config.validate({ message: "INFERD_CPUS must be a positive integer", validation: (n) => n > 0 }),
  Config.withDescription("Number of CPUs to use, overriding cgroup and affinity detection. Unset by default."),
  Config.option,
  Effect.catchAll((error) => Effect.as(Effect.logWarning(`CpuLimit: ignoring INFERD_CPUS: ${error}`), Option.none()))
)

/**
 * Detects the CPU limit under a filesystem root (normally "/"; tests and `inferd cpus --root` use a copy of
 * `proc/self` and `sys/fs/cgroup`). The quota is floored, as uber-go/automaxprocs does, so a pool never asks for
 * more CPU time than the quota grants and gets throttled. Never fails: unreadable or garbage files are logged
 * once and skipped.
 */
export const detect: (options: {
  readonly root: string
  readonly hostCpus: number
}) => Effect.Effect<CpuInfo, never, FileSystem.FileSystem> = Effect.fn("CpuLimit.detect")(function*(options) {
  const fs = yield* FileSystem.FileSystem
  const limits = yield* cgroupLimits(fs, options.root)
  const quota = limits.quota === undefined ? null : limits.quota.value
  const override = yield* cpusOverride
  if (Option.isSome(override)) return { cpus: override.value, quota, source: "INFERD_CPUS" }
  // Ties go to the earlier entry: a quota is the hard limit, the cpuset next, affinity last.
  const best = tightest([
    ...(limits.quota === undefined ? [] : [{ value: Math.floor(limits.quota.value), source: limits.quota.source }]),
    ...(limits.cpuset === undefined ? [] : [limits.cpuset])
  ])
  const affinity: Bound = { value: options.hostCpus, source: "affinity" }
  const chosen = best !== undefined && best.value <= affinity.value ? best : affinity
  return { cpus: Math.max(1, chosen.value), quota, source: chosen.source }
})

/** The live limit: root "/", affinity from `os.availableParallelism()`, `INFERD_CPUS` honoured. */
export const layer: Layer.Layer<CpuLimit, never, FileSystem.FileSystem> = Layer.effect(
  CpuLimit,
  Effect.suspend(() => detect({ root: "/", hostCpus: Os.availableParallelism() })).pipe(
    Effect.tap((info) => Effect.logInfo(`CpuLimit: ${info.cpus} cpus from ${info.source}`))
  )
)

export const layerTest = (info: CpuInfo): Layer.Layer<CpuLimit> => Layer.succeed(CpuLimit, CpuLimit.of(info))
