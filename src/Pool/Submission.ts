/**
 * A task as the pool holds it once submitted: queued, then running on a slot, then done, and the caller
 * waiting for its answer. The caller is answered once: by the worker's answer, its own deadline or a pool
 * error; or never, when it left. Plain mutable state with no fiber or Deferred of its own: it is touched only
 * from the one JS thread, in callbacks, and a fiber per task was what made the pool's tail slow (see
 * WorkerThread.ts).
 */
import type { Exit } from "effect"
import type { PoolError } from "./PoolErrors.js"
import type { Task } from "./Tasks.js"
import type { TraceContext, WorkerRequest } from "../Workers/Protocol.js"
import type { Answer } from "./WorkerThread.js"

/** What the caller gets: its worker's answer, for its task to read, or the pool's own error instead of one. */
export type Reply = Exit.Exit<Answer, PoolError>

export interface Submission {
  readonly kind: string
  readonly request: typeof WorkerRequest.Encoded
  readonly transfers: ReadonlyArray<ArrayBufferLike>
  readonly pipelined: boolean
  /** See Task.unsendable: checked again when the task is sent, since a queued input may be moved meanwhile. */
  readonly unsendable: () => string | undefined
  readonly trace: TraceContext | undefined
  /** Input bytes it holds against the pool's budget until it is done. */
  readonly bytes: number
  state: "queued" | "running" | "done"
  /** The caller's deadline, then the server's: one timer at a time. */
  timer: ReturnType<typeof setTimeout> | undefined
  /** Whether the caller was answered or left: past that, what the task does reaches nobody. */
  readonly answered: () => boolean
  /** Answers the caller, unless it was answered already or left. */
  readonly answer: (reply: Reply) => void
  /** The caller left: nobody is answered any more. */
  readonly forget: () => void
}

export interface SubmissionOptions {
  readonly trace: TraceContext | undefined
  readonly bytes: number
}

export const make = <A, E>(task: Task<A, E>, options: SubmissionOptions, send: (reply: Reply) => void): Submission => {
  let answered = false
  return {
    kind: task.kind,
    request: task.request,
    transfers: task.transfers,
    pipelined: task.pipelined,
    unsendable: task.unsendable,
    trace: options.trace,
    bytes: options.bytes,
    state: "queued",
    timer: undefined,
    answered: () => answered,
    answer: (reply) => {
      if (answered) return
      answered = true
      send(reply)
    },
    forget: () => {
      answered = true
    }
  }
}
