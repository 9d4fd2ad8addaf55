/** Pool options for tests: one worker, short grace, test settings; each test overrides what it relies on. */
import { Duration } from "effect"
import type * as WorkerPool from "../../src/Layers/WorkerPool.js"
import * as WorkerSettings from "../../src/Layers/WorkerSettings.js"

export const poolOptions = (overrides: Partial<WorkerPool.PoolOptions> = {}): WorkerPool.PoolOptions => ({
  size: 1,
  maxQueue: 8,
  taskTimeout: Duration.seconds(30),
  shutdownGrace: Duration.seconds(2),
  startTimeout: Duration.seconds(60),
  workerHeapMb: 512,
  settings: WorkerSettings.forTests(),
  ...overrides
})
