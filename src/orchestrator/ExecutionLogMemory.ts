import { Effect, Layer, Option } from "effect"
import { ExecutionNotFound } from "../domain/Errors.ts"
import type { ExecutionAttempt, ExecutionRecord } from "../domain/Execution.ts"
import { type ExecutionListOptions, ExecutionLog, type ExecutionNode, p95 } from "../domain/ExecutionLog.ts"
import { compareNewestFirst, encodeCursor, pageStart } from "./executionCursor.ts"
import { executionRetentionConfig } from "./ExecutionRetention.ts"

const key = (e: ExecutionRecord) => ({ startedAt: e.started_at, id: e.id })

const node = (e: ExecutionRecord): ExecutionNode => ({
  id: e.id,
  app_id: e.app_id,
  parent_execution_id: e.parent_execution_id,
  script_id: e.script_id,
  script_name: e.script_name,
  invocation: e.invocation,
  status: e.status,
  trigger_id: e.trigger_id,
  trigger_depth: e.trigger_depth,
  started_at: e.started_at,
  duration_ms: e.duration_ms
})

/** Execution records in memory: written at once, so there is nothing to batch or flush. */
export const layer = Layer.effect(
  ExecutionLog,
  Effect.gen(function*() {
    const { maxCount } = yield* executionRetentionConfig
    const records = new Map<string, ExecutionRecord>()
    /** Retried attempts by execution id, at most `maxCount` executions' (the oldest written go first). */
    const attempts = new Map<string, ReadonlyArray<ExecutionAttempt>>()
    return ExecutionLog.of({
      // Only the count limit applies here: this layer lives as long as a test.
      record: (execution) =>
        Effect.sync(() => {
          records.set(execution.id, execution)
          if (records.size > maxCount) {
            const oldest = records.keys().next().value!
            records.delete(oldest)
            attempts.delete(oldest)
          }
        }),
      recordAttempt: (executionId, attempt) =>
        Effect.sync(() => {
          const kept = attempts.get(executionId) ?? []
          if (kept.some((a) => a.attempt === attempt.attempt)) return
          attempts.set(executionId, [...kept, attempt].sort((a, b) => a.attempt - b.attempt))
          if (attempts.size > maxCount) attempts.delete(attempts.keys().next().value!)
        }),
      attempts: (executionId) => Effect.sync(() => attempts.get(executionId) ?? []),
      getMany: (ids) => Effect.sync(() => ids.flatMap((id) => records.get(id.toLowerCase()) ?? [])),
      list: Effect.fn("ExecutionLog.list")(function*(options: ExecutionListOptions) {
        const after = yield* pageStart(options.cursor)
        const matching = [...records.values()]
          .filter((e) => options.scriptId === undefined || e.script_id === options.scriptId)
          .filter((e) => options.appIds === undefined || options.appIds.includes(e.app_id))
          .filter((e) => options.invocation === undefined || e.invocation === options.invocation)
          .filter((e) => options.triggerId === undefined || e.trigger_id === options.triggerId)
          .filter((e) => options.kvKey === undefined || e.kv_key === options.kvKey)
          .filter((e) => options.status === undefined || e.status === options.status)
          .filter((e) => Option.isNone(after) || compareNewestFirst(key(e), after.value) > 0)
          .sort((a, b) => compareNewestFirst(key(a), key(b)))
        const items = matching.slice(0, options.limit)
        const last = items.at(-1)
        return { items, next_cursor: matching.length > options.limit && last ? encodeCursor(key(last)) : null }
      }),
      minuteStats: ({ from, appIds }) =>
        Effect.sync(() => {
          const minutes = new Map<
            number,
            { outcomes: Record<string, number>; durations: Array<number>; waitMs: number | null }
          >()
          for (const e of records.values()) {
            const started = Date.parse(e.started_at)
            if (started < from.getTime() || (appIds !== undefined && !appIds.includes(e.app_id))) continue
            const at = Math.floor(started / 60_000) * 60_000
            const minute = minutes.get(at) ?? { outcomes: {}, durations: [], waitMs: null }
            minute.outcomes[e.status] = (minute.outcomes[e.status] ?? 0) + 1
            minute.durations.push(e.duration_ms)
            if (e.accepted_at !== null && e.attempts === 1) {
              minute.waitMs = Math.max(minute.waitMs ?? 0, started - Date.parse(e.accepted_at))
            }
            minutes.set(at, minute)
          }
          return [...minutes].sort(([a], [b]) => a - b).map(([at, { outcomes, durations, waitMs }]) => ({
            at,
            outcomes,
            p95Ms: p95(durations),
            waitMs
          }))
        }),
      get: (id) => {
        const found = records.get(id)
        return found ? Effect.succeed(found) : Effect.fail(new ExecutionNotFound({ id }))
      },
      // Level by level, as the SQL layer's recursive query: each level in start order.
      descendants: (id, limit) =>
        Effect.sync(() => {
          const root = records.get(id)
          if (root === undefined) return { nodes: [], truncated: false }
          const nodes: Array<ExecutionNode> = [node(root)]
          let level: ReadonlyArray<string> = [root.id]
          while (level.length > 0 && nodes.length <= limit) {
            const below = [...records.values()]
              .filter((e) => e.parent_execution_id !== null && level.includes(e.parent_execution_id))
              .sort((
                a,
                b
              ) => (a.started_at === b.started_at ? (a.id < b.id ? -1 : 1) : a.started_at < b.started_at ? -1 : 1))
            nodes.push(...below.map(node))
            level = below.map((e) => e.id)
          }
          return { nodes: nodes.slice(0, limit), truncated: nodes.length > limit }
        }),
      flush: Effect.void
    })
  })
)
