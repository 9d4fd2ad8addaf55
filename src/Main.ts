/**
 * The edge: runs the command line with Node's context; SIGTERM/SIGINT interrupt, finalizers run, exit 0.
 * Client commands end with exit codes scripts can rely on: 1 when some inputs failed, 3 when no daemon answers.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { run } from "./Cli.js"
import * as Logging from "./Layers/Logging.js"

const exitWith = (code: number) => Effect.sync(() => {
  process.exitCode = code
})

run(process.argv).pipe(
  Effect.catchTags({
    BatchFailed: (error) => Console.error(`${error.failed} of ${error.total} inputs failed`).pipe(Effect.zipRight(exitWith(1))),
    ServerUnreachable: (error) => Console.error(error.message).pipe(Effect.zipRight(exitWith(3))),
    AddressUnavailable: (error) => Console.error(`inferd serve: ${error.message}`).pipe(Effect.zipRight(exitWith(1)))
  }),
  Effect.provide(NodeContext.layer),
  Effect.provide(Logging.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
