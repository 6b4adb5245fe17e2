import { assert, describe, it } from "@effect/vitest"
import { UUID_PATTERN } from "../../../src/domain/Ids.ts"
import { uuidv7 } from "../../../src/domain/uuidv7.ts"

describe("uuidv7", () => {
  it("is a version 7, variant 1 UUID carrying the current time", () => {
    const before = Date.now()
    const id = uuidv7()
    assert.match(id, UUID_PATTERN)
    assert.strictEqual(id[14], "7")
    assert.include("89ab", id[19]!)
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
    assert.isAtLeast(ms, before)
    assert.isAtMost(ms, Date.now() + 1)
  })

  it("sorts in the order ids were made, even thousands within one millisecond", () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7())
    assert.deepStrictEqual([...ids].sort(), ids)
    assert.strictEqual(new Set(ids).size, ids.length)
  })
})
