/** The edge: runs the command line with Node's context; SIGTERM/SIGINT interrupt, finalizers run, exit 0. */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { run } from "./Cli.js"
import * as Logging from "./Layers/Logging.js"

run(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  Effect.provide(Logging.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
