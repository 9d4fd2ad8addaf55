/**
 * The pool's waiting room: two FIFO lanes, HTTP requests ahead of background loops. Plain arrays read and
 * changed synchronously, from `submit` and from a slot's callback when a task ends, on the one JS thread: no
 * fiber ever waits here, so no Semaphore or Queue wake-ups are paid per task.
 */
export type Priority = "interactive" | "background"

export interface TaskQueue<T> {
  /** Adds a task unless `limit` tasks already wait; answers whether it was taken. */
  readonly offer: (task: T, priority: Priority, limit: number) => boolean
  /** The oldest interactive task, else the oldest background one, without taking it. */
  readonly peek: () => T | undefined
  /** Takes what `peek` shows. */
  readonly take: () => T | undefined
  /** Takes a task out wherever it waits (its caller stopped waiting), so it no longer counts against the limit. */
  readonly remove: (task: T) => void
  /** Empties both lanes (for shutdown) and returns what was waiting. */
  readonly clear: () => ReadonlyArray<T>
  readonly size: () => number
}

export const make = <T>(): TaskQueue<T> => {
  const lanes: Record<Priority, Array<T>> = { interactive: [], background: [] }
  const size = () => lanes.interactive.length + lanes.background.length
  return {
    offer: (task, priority, limit) => {
      if (size() >= limit) return false
      lanes[priority].push(task)
      return true
    },
    peek: () => lanes.interactive[0] ?? lanes.background[0],
    take: () => lanes.interactive.length > 0 ? lanes.interactive.shift() : lanes.background.shift(),
    remove: (task) => {
      for (const lane of Object.values(lanes)) {
        const at = lane.indexOf(task)
        if (at >= 0) return void lane.splice(at, 1)
      }
    },
    clear: () => [...lanes.interactive.splice(0), ...lanes.background.splice(0)],
    size
  }
}
