/** Pool options for tests: one worker, short grace, test settings; each test overrides what it relies on. */
import { Duration } from "effect"
import type * as PoolOptions from "../../src/Pool/PoolOptions.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"

export const poolOptions = (overrides: Partial<PoolOptions.PoolOptions> = {}): PoolOptions.PoolOptions => ({
  size: 1,
  maxQueue: 8,
  taskTimeout: Duration.seconds(30),
  shutdownGrace: Duration.seconds(2),
  startTimeout: Duration.seconds(60),
  workerHeapMb: 512,
  settings: WorkerSettings.forTests(),
  ...overrides
})
