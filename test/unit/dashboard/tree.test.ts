import { assert, describe, it } from "vitest"
import { causeOf, hasRecord, type TreeNode, treeRows } from "../../../dashboard/src/lib/tree.ts"

const node = (
  id: string,
  invocation: string,
  children: ReadonlyArray<TreeNode> = [],
  status = "succeeded"
): TreeNode => ({
  id,
  script_id: "s-" + id,
  script_name: "script " + id,
  invocation,
  status,
  trigger_id: invocation === "kv" ? "t" : null,
  trigger_depth: 0,
  started_at: status === "queued" ? null : "2026-01-01T00:00:00Z",
  duration_ms: status === "queued" ? null : 3,
  children
})

describe("dashboard causal tree", () => {
  it("treeRows lists each node before its children, with its level and ancestors", () => {
    const tree = node("r", "http", [
      node("a", "kv", [node("a1", "kv"), node("a2", "dead_letter")]),
      node("b", "kv", [], "queued")
    ])
    assert.deepStrictEqual(
      treeRows(tree).map((row) => [row.node.id, row.level, row.ancestors.join(">")]),
      [["r", 0, ""], ["a", 1, "r"], ["a1", 2, "r>a"], ["a2", 2, "r>a"], ["b", 1, "r"]]
    )
  })

  it("causeOf says what started a node; a queued node has no record to open", () => {
    assert.strictEqual(causeOf(node("r", "http"), 0), "http execution")
    assert.strictEqual(causeOf(node("r", "kv"), 0), "triggered by a KV write")
    assert.strictEqual(causeOf(node("a", "kv"), 1), "triggered by its parent's KV write")
    assert.strictEqual(causeOf(node("d", "dead_letter"), 2), "handles its parent's dead letter")
    assert.isTrue(hasRecord(node("a", "kv")))
    assert.isFalse(hasRecord(node("b", "kv", [], "queued")))
  })
})
