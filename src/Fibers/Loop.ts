/**
 * A supervised background loop: one fiber that owns its state and takes commands through a mailbox. It runs its
 * body every `interval`, retries a failure (or a defect) on a capped, jittered exponential schedule, and never
 * lets a failure escape: a forked fiber that dies is logged only at Debug level by default, so a dead loop
 * would otherwise stop without a trace.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Cause, Clock, Data, DateTime, Deferred, Duration, Effect, Exit, FiberHandle, Predicate, Queue, Ref, Schedule, Schema } from "effect"
import type { Scope } from "effect"

export const LoopState = Schema.Literal("idle", "running", "backing-off", "paused")
export type LoopState = typeof LoopState.Type

/** What a loop reports about itself; `/v1/loops` and `/status` serve it as is. Times are ISO 8601 from the Clock. */
export const LoopStatus = Schema.Struct({
  name: Schema.String,
  state: LoopState,
  /** The pause between a successful run and the next one. */
  intervalMs: Schema.Number,
  /** Attempts finished, successful or not. */
  runs: Schema.Number,
  /** Attempts that failed, died or timed out. */
  failures: Schema.Number,
  /** Failures since the last success; readiness reads this. */
  consecutiveFailures: Schema.Number,
  lastError: Schema.NullOr(Schema.String),
  /** When the last attempt started. */
  lastRunAt: Schema.NullOr(Schema.String),
  lastSuccessAt: Schema.NullOr(Schema.String),
  /** How long the last attempt took, successful or not. */
  lastDurationMs: Schema.NullOr(Schema.Number)
}).annotations({ identifier: "LoopStatus" })
export type LoopStatus = typeof LoopStatus.Type

/** `runNow` on a paused loop: paused means paused, so it is refused rather than run or silently dropped. */
export class LoopPaused extends Schema.TaggedError<LoopPaused>()(
  "LoopPaused",
  { message: Schema.String, name: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

/**
 * A running loop. Commands are queued and handled between attempts: `pause` during a run takes effect when the run
 * ends (and returns then); `runNow` while paused fails with LoopPaused (and one that meets a pause still queued is
 * dropped); `resume` restarts the interval timer.
 */
export interface Loop {
  readonly name: string
  readonly status: Effect.Effect<LoopStatus>
  readonly runNow: Effect.Effect<void, LoopPaused>
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
}

export interface LoopOptions<E> {
  readonly name: string
  readonly interval: Duration.DurationInput
  readonly body: Effect.Effect<void, E>
  /** Backoff after a failure: `base` doubled each time (default 1 s), jittered ±20%, at most `cap` (default 60 s). */
  readonly retry?: { readonly base?: Duration.DurationInput; readonly cap?: Duration.DurationInput }
  /** A run still going after this long (default 5 minutes) is interrupted and counts as a failure. */
  readonly attemptTimeout?: Duration.DurationInput
  /** Run once as soon as the loop starts (default true) rather than after the first interval. */
  readonly runAtStart?: boolean
}

/** A run cut short by the loop's `attemptTimeout`. */
export class AttemptTimeout extends Data.TaggedError("AttemptTimeout")<{ readonly message: string }> {}

type Event =
  | { readonly _tag: "RunNow" }
  | { readonly _tag: "Pause"; readonly handled: Deferred.Deferred<void> }
  | { readonly _tag: "Resume"; readonly handled: Deferred.Deferred<void> }
  | { readonly _tag: "Due"; readonly generation: number }

// `union` takes the shorter delay of the two, so `spaced(cap)` caps the exponential.
const retrySchedule = (retry: LoopOptions<unknown>["retry"]) =>
  Schedule.union(Schedule.jittered(Schedule.exponential(retry?.base ?? "1 second", 2)), Schedule.spaced(retry?.cap ?? "60 seconds"))

const iso = (millis: number): string => DateTime.formatIso(DateTime.unsafeMake(millis))

/** `tag: message` of the error that matters most in the cause (a defect's `Error: message`), for `lastError`. */
const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
    ? error._tag
    : error instanceof Error ? error.name : ""
  const message = Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : ""
  if (tag === "" && message === "") return String(error)
  return tag !== "" && message !== "" ? `${tag}: ${message}` : tag + message
}

/** Starts a loop in the caller's scope (`forkScoped`): it stops, mid-run if need be, when that scope closes. */
export const make = <E>(options: LoopOptions<E>): Effect.Effect<Loop, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { name } = options
    const interval = Duration.decode(options.interval)
    const attemptTimeout = Duration.decode(options.attemptTimeout ?? "5 minutes")
    const backoff = yield* Schedule.driver(retrySchedule(options.retry))
    const status = yield* Ref.make<LoopStatus>({
      name,
      state: "idle",
      intervalMs: Duration.toMillis(interval),
      runs: 0,
      failures: 0,
      consecutiveFailures: 0,
      lastError: null,
      lastRunAt: null,
      lastSuccessAt: null,
      lastDurationMs: null
    })
    const mailbox = yield* Queue.unbounded<Event>()
    // At most one run-now waits in the mailbox, however often it is asked for.
    const runRequested = yield* Ref.make(false)
    // Every wake-up, timer or command, goes through the mailbox, so a command can never lose a race with the
    // timer. A timer that fired before being replaced is recognised as stale by its generation.
    const timer = yield* FiberHandle.make<void, never>()
    const generation = yield* Ref.make(0)

    const disarm = Effect.zipRight(Ref.update(generation, (n) => n + 1), FiberHandle.clear(timer))
    const arm = (wait: Effect.Effect<unknown>) =>
      Effect.flatMap(Ref.updateAndGet(generation, (n) => n + 1), (current) =>
        FiberHandle.run(timer, Effect.zipRight(wait, Queue.offer(mailbox, { _tag: "Due", generation: current }))))

    const attempt = Effect.gen(function*() {
      yield* disarm
      const startedAt = yield* Clock.currentTimeMillis
      yield* Ref.update(status, (s): LoopStatus => ({ ...s, state: "running", lastRunAt: iso(startedAt) }))
      const exit = yield* options.body.pipe(
        Effect.timeoutFail({
          duration: attemptTimeout,
          onTimeout: () => new AttemptTimeout({ message: `no result within ${Duration.format(attemptTimeout)}` })
        }),
        Effect.withSpan(`loop.${name}`),
        Effect.exit
      )
      const endedAt = yield* Clock.currentTimeMillis
      const lastDurationMs = endedAt - startedAt
      if (Exit.isSuccess(exit)) {
        yield* backoff.reset
        yield* Ref.update(status, (s): LoopStatus => ({
          ...s,
          state: "idle",
          runs: s.runs + 1,
          consecutiveFailures: 0,
          lastSuccessAt: iso(endedAt),
          lastDurationMs
        }))
        return yield* arm(Effect.sleep(interval))
      }
      // A defect is a bug rather than bad luck, so it is logged louder; both are retried alike.
      yield* Cause.isDie(exit.cause)
        ? Effect.logError("loop run died", exit.cause)
        : Effect.logWarning("loop run failed", exit.cause)
      yield* Ref.update(status, (s): LoopStatus => ({
        ...s,
        state: "backing-off",
        runs: s.runs + 1,
        failures: s.failures + 1,
        consecutiveFailures: s.consecutiveFailures + 1,
        lastError: describe(exit.cause),
        lastDurationMs
      }))
      // The driver sleeps the jittered delay itself; the schedule never ends, the fallback only guards a tight loop.
      yield* arm(Effect.orElse(backoff.next(undefined), () => Effect.sleep(interval)))
    })

    const handle = (event: Event) =>
      Effect.gen(function*() {
        const paused = (yield* Ref.get(status)).state === "paused"
        switch (event._tag) {
          case "Due":
            if (!paused && event.generation === (yield* Ref.get(generation))) yield* attempt
            return
          case "RunNow":
            yield* Ref.set(runRequested, false)
            if (paused) return yield* Effect.logInfo("run-now ignored: the loop is paused")
            return yield* attempt
          case "Pause":
            if (!paused) {
              yield* disarm
              yield* Ref.update(status, (s): LoopStatus => ({ ...s, state: "paused" }))
              yield* Effect.logInfo("loop paused")
            }
            return yield* Deferred.succeed(event.handled, undefined)
          case "Resume":
            if (paused) {
              yield* Ref.update(status, (s): LoopStatus => ({ ...s, state: "idle" }))
              yield* arm(Effect.sleep(interval))
              yield* Effect.logInfo("loop resumed")
            }
            return yield* Deferred.succeed(event.handled, undefined)
        }
      })

    yield* arm(options.runAtStart === false ? Effect.sleep(interval) : Effect.void).pipe(
      Effect.zipRight(Effect.forever(Effect.flatMap(Queue.take(mailbox), handle))),
      Effect.onInterrupt(() => Effect.logInfo("loop stopped")),
      // `loop`, not STYLE's `fiber`: logfmt already prints the fiber id under that key.
      Effect.annotateLogs({ loop: name }),
      Effect.forkScoped
    )

    const send = (event: Event) => Effect.asVoid(Queue.offer(mailbox, event))
    const command = (tag: "Pause" | "Resume") =>
      Effect.flatMap(Deferred.make<void>(), (handled) => Effect.zipRight(send({ _tag: tag, handled }), Deferred.await(handled)))
    return {
      name,
      status: Ref.get(status),
      runNow: Effect.gen(function*() {
        if ((yield* Ref.get(status)).state === "paused") {
          return yield* new LoopPaused({ message: `the loop "${name}" is paused: resume it before running it`, name })
        }
        if (!(yield* Ref.getAndSet(runRequested, true))) yield* send({ _tag: "RunNow" })
      }),
      pause: command("Pause"),
      resume: command("Resume")
    } satisfies Loop
  })
