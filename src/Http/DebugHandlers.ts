/** POST /v1/debug/fault: runs an injected fault on a worker, for tests and checks of crash recovery. */
import { HttpApiBuilder } from "@effect/platform"
import { Config, Effect } from "effect"
import * as Tasks from "../Pool/Tasks.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import { Api } from "./Api.js"
import { NotFound } from "./ErrorBoundary.js"

/** `INFERD_ENABLE_FAULTS`: serve the fault route (default false: it answers 404 like any unknown route). */
export const enabled = Config.boolean("INFERD_ENABLE_FAULTS").pipe(Config.withDefault(false))

export const layer = HttpApiBuilder.group(Api, "debug", (handlers) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const on = yield* enabled
    return handlers.handle("fault", ({ payload }) =>
      on
        ? pool.submit(Tasks.fault(payload.kind), { timeout: payload.timeoutMs })
        : Effect.fail(new NotFound({ message: "no route for POST /v1/debug/fault (set INFERD_ENABLE_FAULTS=1 to serve it)" })))
  }))
