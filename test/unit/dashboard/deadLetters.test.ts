import { assert, describe, it } from "vitest"
import {
  allSelected,
  batches,
  originOf,
  replaySummary,
  resolutionText,
  toggled,
  toggledAll
} from "../../../dashboard/src/lib/deadLetters.ts"

const request = { method: "POST", path: "/orders/42", query: {}, headers: {}, body: "" }

describe("dashboard: dead letters", () => {
  it("names the handler state, no handler included", () => {
    assert.strictEqual(resolutionText(null), "no handler")
    assert.strictEqual(resolutionText("pending"), "handler pending")
    assert.strictEqual(resolutionText("handler_failed"), "handler failed")
  })

  it("says what started the dead execution: a request, a KV write, a schedule's tick", () => {
    assert.strictEqual(originOf({ invocation: "http", request, event: null }), "POST /orders/42")
    assert.strictEqual(
      originOf({ invocation: "kv", request: null, event: { op: "set", key: "orders/1", value: 1 } }),
      "kv set orders/1"
    )
    assert.strictEqual(
      originOf({ invocation: "schedule", request: null, event: { schedule_id: "s1", name: "nightly" } }),
      "schedule nightly"
    )
    assert.strictEqual(originOf({ invocation: "kv", request: null, event: null }), "kv")
  })

  it("a selection: one toggled in and out; all shown, or none when all were", () => {
    const items = [{ id: "a" }, { id: "b" }]
    let selected: ReadonlySet<string> = new Set()
    selected = toggled(selected, "a")
    assert.deepStrictEqual([...selected], ["a"])
    assert.isFalse(allSelected(items, selected))
    selected = toggledAll(items, selected)
    assert.deepStrictEqual([...selected].sort(), ["a", "b"])
    assert.isTrue(allSelected(items, selected))
    assert.deepStrictEqual([...toggledAll(items, selected)], [])
    assert.deepStrictEqual([...toggled(selected, "a")], ["b"])
    assert.isFalse(allSelected([], new Set()), "nothing shown is not all selected")
  })

  it("a selection over the API's limit goes in batches", () => {
    const ids = Array.from({ length: 250 }, (_, i) => String(i))
    assert.deepStrictEqual(batches(ids).map((b) => b.length), [100, 100, 50])
    assert.deepStrictEqual(batches([]), [])
  })

  it("sums a bulk replay up", () => {
    const accepted = { outcome: "accepted", execution_id: "e", accepted_at: "t" } as const
    assert.strictEqual(replaySummary([{ id: "a", ...accepted }, { id: "b", ...accepted }]), "2 replayed.")
    assert.strictEqual(
      replaySummary([{ id: "a", ...accepted }, { id: "b", outcome: "not_found" }]),
      "1 replayed; 1 not found (gone, or not yours)."
    )
  })
})
