/**
 * When the pool sends queued tasks to a worker together. A round trip through the platform's worker costs
 * about 150 µs, so for tasks far shorter than that (the pool learns each kind's time per task from what the
 * worker measures) one message carries up to `maxItems` of them. Tasks of a kind not yet measured, or whose
 * batch would take longer than `budgetMs`, go alone: batching OCR pages would only make one page wait for
 * another.
 */
export interface Batching {
  /** Whether a slot that took `taken` should also take `next` into the same message. */
  readonly more: (taken: ReadonlyArray<{ readonly kind: string }>, next: { readonly kind: string }) => boolean
  /**
   * Whether a task of this kind goes alone: kinds known to be long do. A kind not yet measured goes as a
   * batch of one, which is how the pool learns its time (the worker measures a batch's items).
   */
  readonly alone: (kind: string) => boolean
  /** Learns from one message: how many tasks of which kinds it carried, and how long it took. */
  readonly record: (kinds: ReadonlyArray<string>, elapsedMs: number) => void
}

export interface BatchingOptions {
  readonly maxItems: number
  readonly budgetMs: number
}

export const defaults: BatchingOptions = { maxItems: 64, budgetMs: 2 }

/** How much one new measurement moves a kind's estimate. */
const weight = 0.2

export const make = (options: BatchingOptions = defaults): Batching => {
  const msPerTask = new Map<string, number>()

  const more = (taken: ReadonlyArray<{ readonly kind: string }>, next: { readonly kind: string }) => {
    if (taken.length >= options.maxItems) return false
    // Called for every job a slot considers, so no array is built per call.
    let total = 0
    for (let i = 0; i <= taken.length; i++) {
      const estimate = msPerTask.get((taken[i] ?? next).kind)
      if (estimate === undefined) return false
      total += estimate
    }
    return total <= options.budgetMs
  }

  const record = (kinds: ReadonlyArray<string>, elapsedMs: number) => {
    const each = elapsedMs / kinds.length
    for (const kind of new Set(kinds)) {
      const old = msPerTask.get(kind)
      msPerTask.set(kind, old === undefined ? each : old + weight * (each - old))
    }
  }

  const alone = (kind: string) => (msPerTask.get(kind) ?? 0) > options.budgetMs

  return { more, alone, record }
}
