/**
 * What the daemon serves on top of its worker pool: the HTTP API, the jobs engine and the background loops,
 * with the registries they share (loops, face models, gallery). Most of the daemon's code; Daemon.ts imports it once the pool is
 * starting.
 */
import { Layer } from "effect"
import * as Canary from "./Fibers/Canary.js"
import * as Inbox from "./Fibers/Inbox.js"
import * as Loops from "./Fibers/Loops.js"
import { HttpLive } from "./Http/Server.js"
import { JobsLive } from "./Jobs/Jobs.js"
import * as DrainState from "./Layers/DrainState.js"
import * as Gallery from "./Layers/Gallery.js"
import * as Models from "./Layers/Models.js"

const LoopsLive = Layer.mergeAll(Inbox.layer, Canary.layer, JobsLive)

export const FrontendLive = HttpLive.pipe(
  Layer.provideMerge(LoopsLive),
  Layer.provideMerge(Loops.layer),
  Layer.provideMerge(Gallery.layer),
  Layer.provideMerge(Models.layer),
  Layer.provideMerge(DrainState.layer)
)
