/**
 * The actor engine under the jobs: @effect/cluster's sharding over SQL storage. Without
 * `INFERD_DATABASE_URL` the daemon is a single runner on SQLite in `INFERD_DATA_DIR` (nothing to install or
 * start); with `INFERD_DATABASE_URL=postgres://…` it is one runner of a cluster sharing that database, reached
 * by the others over TCP at `INFERD_RUNNER_ADDRESS`. Same entities either way; only storage and transport
 * differ. Every ShardingConfig field is set here, from our own configuration: the library's own layers would
 * read PORT and HOST from the environment, and its defaults are tuned for Kubernetes (35 s failover).
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { SocketServerError } from "@effect/platform/SocketServer"
import { Config, ConfigError, Context, Duration, Effect, Either, ExecutionStrategy, Exit, Layer, Option, Scope } from "effect"
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import { WorkerPool } from "../Pool/WorkerPool.js"
import * as SharedConfig from "../Layers/SharedConfig.js"
import * as JobTable from "./JobTable.js"

/** Where this runner is and which storage the cluster shares. */
export interface ClusterInfoService {
  readonly mode: "embedded" | "postgres"
  /** What other runners dial, and this runner's identity in the shard locks. */
  readonly address: RunnerAddress.RunnerAddress
  /** The address as `host:port`. */
  readonly runner: string
  readonly shardsPerGroup: number
}

export class ClusterInfo extends Context.Tag("inferd/ClusterInfo")<ClusterInfo, ClusterInfoService>() {}

const hostPort = (name: string) =>
  Config.string(name).pipe(Config.mapOrFail((text) => {
    const match = /^(.+):(\d{1,5})$/.exec(text)
    const port = Number(match?.[2])
    return match?.[1] !== undefined && port > 0 && port < 65536
      ? Either.right(RunnerAddress.make(match[1], port))
      : Either.left(ConfigError.InvalidData([name], `${name} must be host:port, got "${text}"`))
  }))

/** The fixed default port of INFERD_RUNNER_ADDRESS (the library's own default). */
export const defaultRunnerPort = 34431

export const config = Config.all({
  /** Unset: embedded (SQLite). A PostgreSQL URL: one runner of the cluster that shares it. */
  databaseUrl: Config.option(Config.redacted("INFERD_DATABASE_URL")),
  dataDir: SharedConfig.dataDir,
  /** Where other runners reach this one, and its lock identity: the same after a restart, whatever PORT is. */
  runnerAddress: hostPort("INFERD_RUNNER_ADDRESS").pipe(Config.withDefault(RunnerAddress.make("127.0.0.1", defaultRunnerPort))),
  /** Where the runner listens, when not on its address (behind NAT, `0.0.0.0:34431` in a container). */
  runnerListen: Config.option(hostPort("INFERD_RUNNER_LISTEN")),
  /** Shards the jobs spread over: the same on every runner, and never changed once jobs exist. */
  shards: Config.integer("INFERD_SHARDS").pipe(Config.withDefault(300)),
  /**
   * How long a silent runner keeps its shards: the failover time is about half of this after a kill -9.
   * Locks are refreshed three times per lease, and runners pinged as often.
   */
  lease: Config.duration("INFERD_RUNNER_LEASE").pipe(Config.withDefault(Duration.seconds(6)))
})
export type ClusterConfig = Config.Config.Success<typeof config>

/** Every field, none left to the library's environment-reading defaults. */
export const shardingConfig = (options: ClusterConfig, workers: number): ShardingConfig.ShardingConfig["Type"] => {
  const refresh = Duration.unsafeDivide(options.lease, 3)
  return {
    runnerAddress: Option.some(options.runnerAddress),
    runnerListenAddress: options.runnerListen,
    // A runner with more workers takes more shards, hence more jobs.
    runnerShardWeight: workers,
    availableShardGroups: ["default"],
    assignedShardGroups: ["default"],
    shardsPerGroup: options.shards,
    shardLockRefreshInterval: refresh,
    shardLockExpiration: options.lease,
    shardLockDisableAdvisory: false,
    preemptiveShutdown: true,
    entityMailboxCapacity: 4096,
    entityMaxIdleTime: Duration.seconds(30),
    entityRegistrationTimeout: Duration.minutes(1),
    // By the time the cluster stops, the pool has drained (INFERD_SHUTDOWN_GRACE): what a job still waits for
    // will not come, and its message is left to the runner that takes the shard.
    entityTerminationTimeout: Duration.seconds(1),
    entityMessagePollInterval: Duration.seconds(1),
    entityReplyPollInterval: Duration.millis(200),
    refreshAssignmentsInterval: Duration.seconds(1),
    sendRetryInterval: Duration.millis(100),
    runnerHealthCheckInterval: refresh,
    simulateRemoteSerialization: true
  }
}

/** One process, no network: messages and shard locks in SQL, every shard local. */
const embedded = Sharding.layer.pipe(
  Layer.provideMerge(Runners.layerNoop),
  Layer.provide(RunnerHealth.layerNoop)
)

/** A runner of a cluster: shards spread over the runners in storage, messages between them over TCP. */
const networked = SocketRunner.layer.pipe(
  Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
  Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(NodeClusterSocket.layerClientProtocol))),
  Layer.provide(RpcSerialization.layerMsgPack)
)

const storage = Layer.mergeAll(SqlMessageStorage.layer, Layer.orDie(SqlRunnerStorage.layer), JobTable.layer)

/**
 * Runners starting together on an empty PostgreSQL database would create the same tables at once, which
 * PostgreSQL can refuse: they take turns under an advisory lock while they migrate.
 */
const migratingAlone = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
  Layer.scopedContext(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const scope = yield* Effect.scope
    const lockScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    const connection = yield* Scope.extend(sql.reserve, lockScope)
    yield* connection.executeRaw("SELECT pg_advisory_lock(7104161)", [])
    const context = yield* Layer.buildWithScope(layer, scope)
    yield* connection.executeRaw("SELECT pg_advisory_unlock(7104161)", [])
    yield* Scope.close(lockScope, Exit.void)
    return context
  }))

/**
 * WAL with synchronous NORMAL: a commit survives the process dying (kill -9, a crash), which is what a
 * single runner must survive; only a power cut can lose the last commits. FULL would fsync each of the
 * handful of writes a job makes.
 */
const sqlite = (dataDir: string) =>
  Layer.unwrapEffect(Effect.sync(() => {
    mkdirSync(dataDir, { recursive: true })
    return Layer.tap(SqliteClient.layer({ filename: path.resolve(dataDir, "cluster.db") }), (context) =>
      Effect.orDie(Context.get(context, SqliteClient.SqliteClient)`PRAGMA synchronous = NORMAL`))
  }))

export const layer = Layer.unwrapEffect(Effect.gen(function*() {
  const options = yield* config
  const workers = (yield* (yield* WorkerPool).stats).size
  const sharding = ShardingConfig.layer(shardingConfig(options, workers))
  const info = Layer.succeed(ClusterInfo, {
    mode: Option.isSome(options.databaseUrl) ? "postgres" : "embedded",
    address: options.runnerAddress,
    runner: `${options.runnerAddress.host}:${options.runnerAddress.port}`,
    shardsPerGroup: options.shards
  })
  const engine: Layer.Layer<Exclude<ClusterServices, ShardingConfig.ShardingConfig | ClusterInfo>, ConfigError.ConfigError | SqlError | SocketServerError, ShardingConfig.ShardingConfig> = Option.match(options.databaseUrl, {
    onNone: () => embedded.pipe(Layer.provideMerge(storage), Layer.provideMerge(sqlite(options.dataDir))),
    onSome: (url) =>
      networked.pipe(
        Layer.provideMerge(migratingAlone(storage)),
        Layer.provideMerge(PgClient.layer({ url, applicationName: `inferd ${options.runnerAddress.host}:${options.runnerAddress.port}` }))
      )
  })
  yield* Effect.logInfo(`jobs: ${Option.isSome(options.databaseUrl) ? `runner of a PostgreSQL cluster at ${options.runnerAddress.host}:${options.runnerAddress.port}` : "embedded runner on SQLite"}`)
  return Layer.merge(engine.pipe(Layer.provideMerge(sharding)), info)
}))

export type ClusterServices =
  | Sharding.Sharding
  | Runners.Runners
  | MessageStorage.MessageStorage
  | RunnerStorage.RunnerStorage
  | ShardingConfig.ShardingConfig
  | SqlClient.SqlClient
  | JobTable.JobTable
  | ClusterInfo
