import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Logger, Schema } from "effect"
import { fileURLToPath } from "node:url"
import * as Cgroup from "../../src/Layers/Cgroup.js"
import { CpuLimit, detect, layer, layerTest, type CpuInfo } from "../../src/Layers/CpuLimit.js"
import * as shared from "../support/shared.js"

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/cgroups/${name}`, import.meta.url))
const sharedFixtures = fileURLToPath(new URL("../../../shared/checks/fixtures/cgroups", import.meta.url))

// Runs an effect with the real filesystem and returns what it logged at warning level beside its value.
const withWarnings = <A, E>(self: Effect.Effect<A, E, FileSystem.FileSystem>) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const value = yield* self.pipe(
      Effect.provide(Layer.merge(NodeFileSystem.layer, Logger.replace(Logger.defaultLogger, logger)))
    )
    return { value, warnings }
  })

const run = (name: string, hostCpus: number, env: ReadonlyArray<readonly [string, string]> = []) =>
  withWarnings(detect({ root: fixture(name), hostCpus })).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(env)))
  )

const expectInfo = (name: string, hostCpus: number, expected: CpuInfo, warnings = 0) =>
  Effect.gen(function*() {
    const result = yield* run(name, hostCpus)
    assert.deepStrictEqual(result.value, expected)
    assert.strictEqual(result.warnings.length, warnings, result.warnings.join("\n"))
    return result
  })

const cpuMax = (dir: string) => `cgroup2 cpu.max /sys/fs/cgroup/${dir}/cpu.max`

describe("CpuLimit.detect, cgroup v2", () => {
  it.effect("takes a whole quota", () =>
    expectInfo("v2-quota-2", 8, { cpus: 2, quota: 2, source: cpuMax("system.slice/inferd.service") }))

  it.effect("max is unlimited", () => expectInfo("v2-unlimited", 8, { cpus: 8, quota: null, source: "affinity" }))

  it.effect("floors a fractional quota", () =>
    expectInfo("v2-fraction-1.5", 8, {
      cpus: 1,
      quota: 1.5,
      source: cpuMax("kubepods.slice/kubepods-burstable.slice/cri-containerd-1a2b.scope")
    }))

  it.effect("a quota below one CPU still gives one", () =>
    expectInfo("v2-sub-one", 8, { cpus: 1, quota: 0.5, source: cpuMax("system.slice/small.service") }))

  it.effect("a period of 0 is no quota", () =>
    expectInfo("v2-zero-period", 8, { cpus: 8, quota: null, source: "affinity" }))

  it.effect("reads a file without a trailing newline", () =>
    expectInfo("v2-no-newline", 8, { cpus: 3, quota: 3, source: cpuMax("system.slice/inferd.service") }))

  it.effect("a parent tighter than the child wins", () =>
    expectInfo("v2-parent-tighter", 8, {
      cpus: 3,
      quota: 3,
      source: cpuMax("kubepods.slice/kubepods-pod7.slice")
    }))

  it.effect("a child tighter than the parent wins", () =>
    expectInfo("v2-child-tighter", 8, { cpus: 2, quota: 2, source: cpuMax("system.slice/inferd.service") }))

  it.effect("inside a cgroup namespace the mount point is the process's cgroup", () =>
    expectInfo("v2-namespace", 64, { cpus: 4, quota: 4, source: "cgroup2 cpu.max /sys/fs/cgroup/cpu.max" }))

  it.effect("maps the path relative to a nested mount root", () =>
    expectInfo("v2-nested-root", 64, { cpus: 2, quota: 2.5, source: cpuMax("cri-containerd-e4.scope") }))

  it.effect("a cpuset limits a large host", () =>
    expectInfo("v2-cpuset-4", 64, {
      cpus: 4,
      quota: null,
      source: "cpuset /sys/fs/cgroup/system.slice/inferd.service/cpuset.cpus.effective"
    }))

  it.effect("a cpuset smaller than the quota wins", () =>
    expectInfo("v2-cpuset-wins", 64, {
      cpus: 5,
      quota: 6,
      source: "cpuset /sys/fs/cgroup/system.slice/inferd.service/cpuset.cpus.effective"
    }))

  it.effect("a quota smaller than the cpuset wins", () =>
    expectInfo("v2-quota-wins", 64, { cpus: 3, quota: 3, source: cpuMax("system.slice/inferd.service") }))
})

describe("CpuLimit.detect, cgroup v1 and hybrid", () => {
  it.effect("reads the quota of a Docker container", () =>
    expectInfo("v1-docker", 8, {
      cpus: 4,
      quota: 4,
      source: "cgroup1 cfs quota /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"
    }))

  it.effect("walks up to a fractional quota on the parent", () =>
    expectInfo("v1-walk-up", 8, {
      cpus: 2,
      quota: 2.5,
      source: "cgroup1 cfs quota /sys/fs/cgroup/cpu,cpuacct/system.slice/cpu.cfs_quota_us"
    }))

  it.effect("-1 is unlimited", () => expectInfo("v1-unlimited", 8, { cpus: 8, quota: null, source: "affinity" }))

  it.effect("counts a v1 cpuset list", () =>
    expectInfo("v1-cpuset", 64, {
      cpus: 7,
      quota: null,
      source: "cpuset /sys/fs/cgroup/cpuset/system.slice/inferd.service/cpuset.cpus"
    }))

  it.effect("reads the v1 cpu controller on a hybrid host", () =>
    expectInfo("hybrid", 64, {
      cpus: 3,
      quota: 3,
      source: "cgroup1 cfs quota /sys/fs/cgroup/cpu,cpuacct/user.slice/user-1000.slice/session-2.scope/cpu.cfs_quota_us"
    }))
})

describe("CpuLimit.detect, bad and missing files", () => {
  it.effect("nothing mounted falls back to affinity without a word", () =>
    expectInfo("nothing-mounted", 6, { cpus: 6, quota: null, source: "affinity" }))

  it.effect("no cgroup mount falls back to affinity", () =>
    expectInfo("no-cgroup-mount", 6, { cpus: 6, quota: null, source: "affinity" }))

  it.effect("a garbage cpu.max gives exactly one warning naming it", () =>
    Effect.gen(function*() {
      const { warnings } = yield* expectInfo("v2-garbage", 8, { cpus: 8, quota: null, source: "affinity" }, 1)
      assert.include(warnings[0], `${fixture("v2-garbage")}/sys/fs/cgroup/system.slice/inferd.service/cpu.max`)
    }))

  it.effect("an empty cpu.max is garbage", () =>
    Effect.gen(function*() {
      const { warnings } = yield* expectInfo("v2-empty", 8, { cpus: 8, quota: null, source: "affinity" }, 1)
      assert.include(warnings[0], "inferd.service/cpu.max")
    }))

  it.effect("a truncated cpu.max is skipped and the parent still applies", () =>
    Effect.gen(function*() {
      const expected = { cpus: 4, quota: 4, source: cpuMax("system.slice") }
      const { warnings } = yield* expectInfo("v2-truncated", 8, expected, 1)
      assert.include(warnings[0], "inferd.service/cpu.max")
    }))

  it.effect("a non-numeric v1 period is skipped", () =>
    Effect.gen(function*() {
      const { warnings } = yield* expectInfo("v1-bad-period", 8, { cpus: 8, quota: null, source: "affinity" }, 1)
      assert.include(warnings[0], "inferd.service/cpu.cfs_period_us")
    }))

  it.effect("garbage /proc/self files warn once each and fall back to affinity", () =>
    Effect.gen(function*() {
      const { warnings } = yield* expectInfo("garbage-proc", 8, { cpus: 8, quota: null, source: "affinity" }, 2)
      assert.include(warnings[0], "proc/self/mountinfo")
      assert.include(warnings[1], "proc/self/cgroup")
    }))
})

describe("CpuLimit INFERD_CPUS", () => {
  it.effect("overrides the detected count and keeps the quota", () =>
    Effect.gen(function*() {
      const { value, warnings } = yield* run("v2-quota-2", 8, [["INFERD_CPUS", "6"]])
      assert.deepStrictEqual(value, { cpus: 6, quota: 2, source: "INFERD_CPUS" })
      assert.strictEqual(warnings.length, 0)
    }))

  it.effect("an invalid value warns and is ignored", () =>
    Effect.forEach(["0", "-2", "2.5", "four", ""], (bad) =>
      Effect.gen(function*() {
        const { value, warnings } = yield* run("v2-quota-2", 8, [["INFERD_CPUS", bad]])
        assert.strictEqual(value.cpus, 2, `INFERD_CPUS=${JSON.stringify(bad)}`)
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0], "INFERD_CPUS")
      })))

  it.effect("the live layer honours it", () =>
    Effect.gen(function*() {
      const { value } = yield* withWarnings(Effect.provide(CpuLimit, layer)).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["INFERD_CPUS", "3"]])))
      )
      assert.strictEqual(value.cpus, 3)
      assert.strictEqual(value.source, "INFERD_CPUS")
    }))

  it.effect("layerTest provides the given info", () =>
    Effect.gen(function*() {
      const info = yield* Effect.provide(CpuLimit, layerTest({ cpus: 5, quota: 4.5, source: "test" }))
      assert.deepStrictEqual(info, { cpus: 5, quota: 4.5, source: "test" })
    }))
})

describe("Cgroup parsers", () => {
  it("parse cpu lists", () => {
    const counts = ["0-3", "0-3,8,10-11\n", "7", "0-63"].map((text) => Either.getOrUndefined(Cgroup.parseCpuList(text)))
    assert.deepStrictEqual(counts, [4, 7, 1, 64])
    for (const bad of ["", "3-1", "0-3,", "a-b", "0-7:2/4"]) assert.isTrue(Either.isLeft(Cgroup.parseCpuList(bad)), bad)
  })

  it("parse cpu.max", () => {
    const quotas = ["max 100000\n", "max", "150000 100000", "100000 0"].map((text) =>
      Either.getOrUndefined(Cgroup.parseCpuMax(text))
    )
    assert.deepStrictEqual(quotas, [null, null, 1.5, null])
    for (const bad of ["", "150000", "0 100000", "-1 100000", "1 2 3"]) {
      assert.isTrue(Either.isLeft(Cgroup.parseCpuMax(bad)), bad)
    }
  })

  it("unescapes mountinfo paths and maps cgroup paths", () => {
    const mounts = Either.getOrThrow(
      Cgroup.parseMountinfo("40 33 0:35 /a\\040b /sys/fs/cgroup/x\\040y rw - cgroup2 cgroup2 rw\n")
    )
    assert.deepStrictEqual(mounts[0], {
      root: "/a b",
      mountPoint: "/sys/fs/cgroup/x y",
      fstype: "cgroup2",
      superOptions: ["rw"]
    })
    assert.deepStrictEqual(Cgroup.cgroupDirs(mounts[0]!, "/a b/c"), ["/sys/fs/cgroup/x y/c", "/sys/fs/cgroup/x y"])
    assert.isUndefined(Cgroup.cgroupDirs(mounts[0]!, "/a bc"))
    assert.isUndefined(Cgroup.cgroupDirs(mounts[0]!, "/../x"))
  })
})

const Expectation = Schema.parseJson(Schema.Struct({
  hostCpus: Schema.Number,
  cpus: Schema.Array(Schema.Number),
  quota: Schema.Array(Schema.NullOr(Schema.Number))
}))

// The acceptance fixtures live outside the product; run them when they are around.
describe("CpuLimit acceptance fixtures", () => {
  it.effect.skipIf(!shared.has("CpuLimit acceptance fixtures", "checks/fixtures/cgroups"))("every shared case gets an allowed answer", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const cases = yield* fs.readDirectory(sharedFixtures)
      assert.isAbove(cases.length, 0)
      for (const name of cases.toSorted()) {
        const json = yield* fs.readFileString(`${sharedFixtures}/${name}/expect.json`)
        const expected = yield* Schema.decode(Expectation)(json)
        const info = yield* detect({ root: `${sharedFixtures}/${name}/root`, hostCpus: expected.hostCpus })
        assert.include(expected.cpus, info.cpus, `${name}: cpus`)
        assert.include(expected.quota, info.quota, `${name}: quota`)
      }
    }).pipe(Effect.provide(NodeFileSystem.layer), Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
})
