import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import type { KvItem } from "../../../src/domain/KvStore.ts"
import { encodeKvCursor, KV_PAGE_BYTES, kvPage } from "../../../src/manager/kvCursor.ts"

const item = (key: string, value: unknown): KvItem => ({
  key,
  value: value as never,
  version: 1,
  updated_at: "2026-12-01T00:00:00.000Z"
})

describe("kvPage: a listing page", () => {
  it("holds at most `limit` items; the cursor continues after the last one, null when nothing follows", () => {
    const rows = ["a", "b", "c"].map((key) => item(key, 1))
    assert.deepStrictEqual(kvPage(rows, 2), { items: rows.slice(0, 2), cursor: encodeKvCursor("b") })
    assert.deepStrictEqual(kvPage(rows.slice(0, 2), 2), { items: rows.slice(0, 2), cursor: null })
    assert.deepStrictEqual(kvPage([], 2), { items: [], cursor: null })
  })

  it("stops before its values pass the page budget, but always gives one item", () => {
    // Each value is 300,002 bytes of JSON: three fit in 1 MiB, a fourth does not.
    const big = "x".repeat(300_000)
    const rows = ["a", "b", "c", "d", "e"].map((key) => item(key, big))
    const page = kvPage(rows, 100)
    assert.deepStrictEqual(page.items.map((i) => i.key), ["a", "b", "c"])
    assert.strictEqual(page.cursor, encodeKvCursor("c"))
    const huge = kvPage([item("a", "y".repeat(KV_PAGE_BYTES + 10)), item("b", 1)], 100)
    assert.deepStrictEqual(huge.items.map((i) => i.key), ["a"], "one item even when it alone is over the budget")
    assert.strictEqual(huge.cursor, encodeKvCursor("a"))
  })
})
