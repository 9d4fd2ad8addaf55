/** The whole daemon as one layer: HTTP on top of the loops, the pool and CpuLimit. */
import { NodeContext } from "@effect/platform-node"
import { Layer } from "effect"
import * as Canary from "./Fibers/Canary.js"
import * as Inbox from "./Fibers/Inbox.js"
import * as Jobs from "./Fibers/Jobs.js"
import * as Loops from "./Fibers/Loops.js"
import { HttpLive } from "./Http/Server.js"
import * as CpuLimit from "./Layers/CpuLimit.js"
import * as Gallery from "./Layers/Gallery.js"
import * as JobStore from "./Layers/JobStore.js"
import * as Metrics from "./Layers/Metrics.js"
import * as Models from "./Layers/Models.js"
import * as Tracing from "./Layers/Tracing.js"
import * as WorkerPool from "./Layers/WorkerPool.js"

const LoopsLive = Layer.mergeAll(Inbox.layer, Canary.layer, Jobs.layer.pipe(Layer.provide(JobStore.layer)))

export const DaemonLive = HttpLive.pipe(
  Layer.provideMerge(LoopsLive),
  Layer.provideMerge(Loops.layer),
  Layer.provideMerge(Gallery.layer),
  Layer.provideMerge(Models.layer),
  Layer.provideMerge(WorkerPool.layer),
  Layer.provideMerge(CpuLimit.layer),
  Layer.provideMerge(Metrics.layer),
  Layer.provideMerge(Tracing.layer("inferd")),
  Layer.provide(NodeContext.layer)
)
