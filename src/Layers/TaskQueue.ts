/**
 * The pool's waiting room: two FIFO lanes (HTTP requests ahead of background loops) and one ticket per job.
 * Worker slots block on a ticket, never on a semaphore: Effect 3's Semaphore wakes every waiter on each
 * release, which collapsed throughput at high concurrency (research/effect-platform.md §3).
 */
import { Effect, Option, Queue, Ref } from "effect"

export type Priority = "interactive" | "background"

export interface TaskQueue<J> {
  /** Adds a job unless `limit` jobs already wait; answers whether it was taken. */
  readonly offer: (job: J, priority: Priority, limit: number) => Effect.Effect<boolean>
  /** Waits for a ticket, then hands out the oldest interactive job, else the oldest background one. */
  readonly take: Effect.Effect<Option.Option<J>>
  /** Empties both lanes (for shutdown) and returns what was waiting. */
  readonly clear: Effect.Effect<ReadonlyArray<J>>
  readonly size: Effect.Effect<number>
}

export const make = <J>(): Effect.Effect<TaskQueue<J>> =>
  Effect.gen(function*() {
    const lanes = {
      interactive: yield* Queue.unbounded<J>(),
      background: yield* Queue.unbounded<J>()
    }
    const tickets = yield* Queue.unbounded<void>()
    const waiting = yield* Ref.make(0)

    const offer = (job: J, priority: Priority, limit: number) =>
      Ref.modify(waiting, (n) => (n >= limit ? [false, n] as const : [true, n + 1] as const)).pipe(
        Effect.tap((taken) => taken ? Queue.offer(lanes[priority], job).pipe(Effect.zipRight(Queue.offer(tickets, undefined))) : Effect.void)
      )

    const poll = Queue.poll(lanes.interactive).pipe(
      Effect.flatMap((job) => Option.isSome(job) ? Effect.succeed(job) : Queue.poll(lanes.background)),
      Effect.tap((job) => Option.isSome(job) ? Ref.update(waiting, (n) => n - 1) : Effect.void)
    )

    // A ticket can outlive its job when `clear` emptied the lanes: `take` then answers None.
    const take = Queue.take(tickets).pipe(Effect.zipRight(poll))

    const clear = Effect.gen(function*() {
      const jobs = [...(yield* Queue.takeAll(lanes.interactive)), ...(yield* Queue.takeAll(lanes.background))]
      yield* Ref.update(waiting, (n) => n - jobs.length)
      return jobs
    })

    return { offer, take, clear, size: Ref.get(waiting) }
  })
