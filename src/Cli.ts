/**
 * The `inferd` command line: `serve` runs the daemon, `cpus` prints what CpuLimit finds, `ocr|faces|audio`
 * send files to a daemon (or a local pool), `models fetch` installs the face models.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer, Option } from "effect"
import * as os from "node:os"
import * as Client from "./Cli/Client.js"
import * as CpuLimit from "./Layers/CpuLimit.js"
import { models } from "./ModelsFetch.js"
import { sizeFor } from "./Pool/PoolOptions.js"
import { niceness } from "./Pool/WorkerSettings.js"

const serve = Command.make("serve", {}, () =>
  Effect.flatMap(Effect.promise(() => import("./Daemon.js")), ({ DaemonLive }) => Layer.launch(DaemonLive))
).pipe(Command.withDescription("run the daemon (HTTP API, worker pool, background loops) until SIGTERM or SIGINT"))

const root = Options.directory("root").pipe(Options.withDefault("/"), Options.withDescription("filesystem root holding proc/ and sys/ (for fixtures)"))
const hostCpus = Options.integer("host-cpus").pipe(Options.optional, Options.withDescription("stand-in for the machine's CPU count"))

const cpus = Command.make("cpus", { root, hostCpus }, ({ root, hostCpus }) =>
  Effect.gen(function*() {
    const info = yield* CpuLimit.detect({ root, hostCpus: Option.getOrElse(hostCpus, () => os.availableParallelism()) })
    yield* Console.log(JSON.stringify({ cpus: info.cpus, quota: info.quota, source: info.source, poolSize: sizeFor(info, yield* niceness) }))
  })
).pipe(Command.withDescription("print the CPUs this process may use, as one JSON line"))

export const cli = Command.make("inferd").pipe(
  Command.withDescription("inferd: CPU-heavy ML inference (OCR, faces, audio) over HTTP without blocking"),
  Command.withSubcommands([serve, cpus, Client.ocr, Client.faces, Client.audio, models])
)

export const run = Command.run(cli, { name: "inferd", version: "0.1.0" })
