/**
 * The pool's waiting room: two FIFO lanes (HTTP requests ahead of background loops) and one ticket per job.
 * Worker slots block on a ticket, never on a semaphore: Effect 3's Semaphore wakes every waiter on each
 * release, which collapsed throughput at high concurrency (research/effect-platform.md §3).
 */
import { Effect, Queue } from "effect"

export type Priority = "interactive" | "background"

export interface TaskQueue<J> {
  /** Adds a job unless `limit` jobs already wait; answers whether it was taken. Synchronous, for `submit`. */
  readonly unsafeOffer: (job: J, priority: Priority, limit: number) => boolean
  /**
   * Waits for a ticket, then hands out the oldest interactive job, else the oldest background one, and
   * after it the jobs next in line for as long as `more(taken, next)` allows (for batching). Empty when
   * `clear` emptied the lanes under a waiting ticket.
   */
  readonly take: (more: (taken: ReadonlyArray<J>, next: J) => boolean) => Effect.Effect<ReadonlyArray<J>>
  /**
   * Takes a job out of its lane if it still waits there (its caller stopped waiting), so it no longer counts
   * against the limit. Its ticket stays: a slot that spends it finds the lanes empty and takes again.
   */
  readonly unsafeRemove: (job: J) => void
  /** Empties both lanes (for shutdown) and returns what was waiting. */
  readonly clear: Effect.Effect<ReadonlyArray<J>>
  readonly size: Effect.Effect<number>
  readonly unsafeSize: () => number
}

export const make = <J>(): Effect.Effect<TaskQueue<J>> =>
  Effect.gen(function*() {
    // Plain arrays: every access is synchronous on the one JS thread, and a slot must peek at the next job.
    const lanes: Record<Priority, Array<J>> = { interactive: [], background: [] }
    const tickets = yield* Queue.unbounded<void>()
    const waiting = () => lanes.interactive.length + lanes.background.length
    const head = () => lanes.interactive[0] ?? lanes.background[0]
    const shift = () => lanes.interactive.length > 0 ? lanes.interactive.shift() : lanes.background.shift()

    const unsafeOffer = (job: J, priority: Priority, limit: number) => {
      if (waiting() >= limit) return false
      lanes[priority].push(job)
      return tickets.unsafeOffer(undefined)
    }

    const collect = (more: (taken: ReadonlyArray<J>, next: J) => boolean) => {
      const taken: Array<J> = []
      for (let next = head(); next !== undefined && (taken.length === 0 || more(taken, next)); next = head()) {
        shift()
        taken.push(next)
      }
      return taken
    }

    // The extra jobs' tickets are spent too; one left over (after `clear`) finds the lanes empty and answers empty.
    const take = (more: (taken: ReadonlyArray<J>, next: J) => boolean) =>
      Queue.take(tickets).pipe(
        Effect.map(() => collect(more)),
        Effect.tap((taken) => taken.length > 1 ? Queue.takeUpTo(tickets, taken.length - 1) : Effect.void)
      )

    const unsafeRemove = (job: J) => {
      for (const lane of Object.values(lanes)) {
        const at = lane.indexOf(job)
        if (at >= 0) return void lane.splice(at, 1)
      }
    }

    const clear = Effect.sync(() => [...lanes.interactive.splice(0), ...lanes.background.splice(0)])

    return { unsafeOffer, take, unsafeRemove, clear, size: Effect.sync(waiting), unsafeSize: waiting }
  })
