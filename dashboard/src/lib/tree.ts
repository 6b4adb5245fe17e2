/** The causal tree of `GET /api/admin/executions/{id}/tree`, shaped for a page. */

export interface TreeNode {
  readonly id: string
  readonly script_id: string
  readonly script_name: string
  readonly invocation: string
  readonly status: string
  readonly trigger_id: string | null
  readonly trigger_depth: number
  readonly started_at: string | null
  readonly duration_ms: number | null
  readonly children: ReadonlyArray<TreeNode>
}

export interface ExecutionTree {
  readonly root: TreeNode
  readonly nodes: number
  readonly truncated: boolean
}

/** One row of the tree as a list shows it: the node, how deep it sits below the root, and its number of children. */
export interface TreeRow {
  readonly node: TreeNode
  readonly level: number
  /** The ids from the root down to this node's parent. */
  readonly ancestors: ReadonlyArray<string>
}

/** The nodes in reading order (depth first, each node before its children, children as the API orders them). */
export const treeRows = (root: TreeNode): ReadonlyArray<TreeRow> => {
  const rows: Array<TreeRow> = []
  const walk = (node: TreeNode, level: number, ancestors: ReadonlyArray<string>) => {
    rows.push({ node, level, ancestors })
    for (const child of node.children) walk(child, level + 1, [...ancestors, node.id])
  }
  walk(root, 0, [])
  return rows
}

/** What caused a node, in words: the root is what the tree starts from; below it, a KV write or a dead letter. */
export const causeOf = (node: TreeNode, level: number): string =>
  level === 0
    ? node.invocation === "kv" ? "triggered by a KV write" : `${node.invocation} execution`
    : node.invocation === "kv"
    ? "triggered by its parent's KV write"
    : node.invocation === "dead_letter"
    ? "handles its parent's dead letter"
    : `${node.invocation} execution`

/** A node can be opened only once it has a record: a queued one has none yet. */
export const hasRecord = (node: TreeNode) => node.status !== "queued"
