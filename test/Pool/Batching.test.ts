import { assert, describe, it } from "@effect/vitest"
import * as Batching from "../../src/Pool/Batching.js"

const job = (kind: string) => ({ kind })
const many = (n: number, kind: string) => Array.from({ length: n }, () => job(kind))

describe("Batching", () => {
  it("sends an unmeasured kind as a batch of one, to measure it", () => {
    const batching = Batching.make({ maxItems: 64, budgetMs: 2 })
    assert.isFalse(batching.alone("echo"))
    assert.isFalse(batching.more([job("echo")], job("echo")))
  })

  it("batches a short kind up to the time budget and the item cap", () => {
    const batching = Batching.make({ maxItems: 8, budgetMs: 2 })
    batching.record(["echo"], 0.5)
    assert.isFalse(batching.alone("echo"))
    assert.isTrue(batching.more(many(3, "echo"), job("echo")))
    assert.isFalse(batching.more(many(4, "echo"), job("echo")), "five tasks of 0.5 ms are over the 2 ms budget")
    for (let i = 0; i < 20; i++) batching.record(Array(10).fill("echo"), 0.1)
    assert.isTrue(batching.more(many(7, "echo"), job("echo")))
    assert.isFalse(batching.more(many(8, "echo"), job("echo")), "eight is the cap")
  })

  it("never batches long tasks, nor a short one behind or ahead of an unmeasured kind", () => {
    const batching = Batching.make({ maxItems: 64, budgetMs: 2 })
    batching.record(["ocr"], 300)
    batching.record(["echo"], 0.05)
    assert.isTrue(batching.alone("ocr"))
    assert.isFalse(batching.more([job("ocr")], job("echo")))
    assert.isFalse(batching.more([job("echo")], job("ocr")))
    assert.isFalse(batching.more([job("echo")], job("faces.detect")))
  })

  it("follows a kind that gets slower", () => {
    const batching = Batching.make({ maxItems: 64, budgetMs: 2 })
    batching.record(["resize"], 0.2)
    assert.isFalse(batching.alone("resize"))
    for (let i = 0; i < 20; i++) batching.record(["resize"], 50)
    assert.isTrue(batching.alone("resize"))
  })
})
