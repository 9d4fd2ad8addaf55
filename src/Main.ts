/**
 * The edge: runs the command line with Node's context; SIGTERM/SIGINT interrupt, finalizers run, exit 0.
 * A command's expected failures end as one plain line on stderr and an exit code scripts can rely on
 * (Client.EXIT_CODES): 1 when some inputs failed, 2 for wrong usage, 3 when no daemon answers, 4 when it
 * refuses the token.
 */
import { ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { run } from "./Cli.js"
import * as Logging from "./Layers/Logging.js"

const exitWith = (code: number, line?: string) =>
  Effect.zipRight(line === undefined ? Effect.void : Console.error(`inferd: ${line}`), Effect.sync(() => {
    process.exitCode = code
  }))

run(process.argv).pipe(
  // @effect/cli has printed what was wrong with the command line, with the usage.
  Effect.catchIf(ValidationError.isValidationError, () => exitWith(2)),
  Effect.catchTags({
    BatchFailed: (error) => exitWith(1, error.message),
    ModelsFetchFailed: (error) => exitWith(1, error.message),
    PathUnusable: (error) => exitWith(2, error.message),
    OptionInvalid: (error) => exitWith(2, error.message),
    ServerUnreachable: (error) => exitWith(3, error.message),
    TokenRefused: (error) => exitWith(4, error.message),
    AddressUnavailable: (error) => exitWith(1, error.message)
  }),
  Effect.provide(NodeContext.layer),
  Effect.provide(Logging.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
