import type { ExecutionTreeNode } from "../domain/Execution.ts"
import type { ExecutionNode } from "../domain/ExecutionLog.ts"
import type { QueuedJob } from "../domain/OutboxRepo.ts"

/** The most nodes a causal tree shows (records and queued rows together). */
export const MAX_TREE_NODES = 1000

type Building = { -readonly [K in keyof ExecutionTreeNode]: ExecutionTreeNode[K] } & {
  children: Array<Building>
}

/**
 * The causal tree from its nodes: `records[0]` is the root, every other record and queued row hangs
 * below its `parent_execution_id` (one whose parent is not among them is left out). Children are in
 * the order given: records breadth first in start order, then queued rows oldest first.
 * `scriptNames` names the scripts of queued rows.
 */
export const buildTree = (
  records: readonly [ExecutionNode, ...ReadonlyArray<ExecutionNode>],
  queued: ReadonlyArray<QueuedJob>,
  scriptNames: ReadonlyMap<string, string>
): { readonly root: ExecutionTreeNode; readonly nodes: number } => {
  const recorded = (record: ExecutionNode): Building => ({
    id: record.id,
    script_id: record.script_id,
    script_name: record.script_name,
    invocation: record.invocation,
    status: record.status,
    trigger_id: record.trigger_id,
    trigger_depth: record.trigger_depth,
    started_at: record.started_at,
    duration_ms: record.duration_ms,
    children: []
  })
  const waiting = (job: QueuedJob): Building => ({
    id: job.id,
    script_id: job.script_id,
    script_name: scriptNames.get(job.script_id) ?? "",
    invocation: job.kind,
    status: "queued",
    trigger_id: job.lineage.trigger_id,
    trigger_depth: job.lineage.trigger_depth,
    started_at: null,
    duration_ms: null,
    children: []
  })
  const [first, ...rest] = records
  const root = recorded(first)
  const byId = new Map([[root.id, root]])
  const attach = (parentId: string | null, node: Building) => {
    const parent = parentId === null ? undefined : byId.get(parentId)
    if (parent === undefined) return
    parent.children.push(node)
    byId.set(node.id, node)
  }
  for (const record of rest) attach(record.parent_execution_id, recorded(record))
  for (const job of queued) attach(job.lineage.parent_execution_id, waiting(job))
  return { root, nodes: byId.size }
}
