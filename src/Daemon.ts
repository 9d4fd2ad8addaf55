/**
 * The whole daemon as one layer: HTTP and the loops (Frontend.ts) on top of the pool and CpuLimit. The pool is
 * built first and the front end, most of the daemon's code, is imported after it: the workers start loading
 * while the main thread is still compiling the HTTP API, so on two cores the two overlap.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Layer } from "effect"
import * as Address from "./Http/Address.js"
import * as CpuLimit from "./Layers/CpuLimit.js"
import * as Metrics from "./Layers/Metrics.js"
import * as Tracing from "./Telemetry/Tracing.js"
import * as WorkerPool from "./Pool/WorkerPool.js"

const FrontendLive = Layer.unwrapEffect(Effect.map(Effect.promise(() => import("./Frontend.js")), (module) => module.FrontendLive))

export const DaemonLive = FrontendLive.pipe(
  Layer.provideMerge(WorkerPool.layer),
  Layer.provideMerge(CpuLimit.layer),
  Layer.provideMerge(Metrics.layer),
  Layer.provideMerge(Tracing.layer("inferd")),
  // First of all: a daemon that could not listen must not start loops or resume jobs on the data folder.
  Layer.provideMerge(Layer.effectDiscard(Effect.flatMap(Address.config, Address.check))),
  Layer.provide(NodeContext.layer)
)
