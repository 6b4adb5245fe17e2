import { Effect, Layer, Option } from "effect"
import { ExecutionNotFound } from "../domain/Errors.ts"
import type { ExecutionRecord } from "../domain/Execution.ts"
import { type ExecutionListOptions, ExecutionLog } from "../domain/ExecutionLog.ts"
import { compareNewestFirst, encodeCursor, pageStart } from "./executionCursor.ts"
import { executionRetentionConfig } from "./ExecutionRetention.ts"

const key = (e: ExecutionRecord) => ({ startedAt: e.started_at, id: e.id })

/** Execution records in memory: written at once, so there is nothing to batch or flush. */
export const layer = Layer.effect(
  ExecutionLog,
  Effect.gen(function*() {
    const { maxCount } = yield* executionRetentionConfig
    const records = new Map<string, ExecutionRecord>()
    return ExecutionLog.of({
      // Only the count limit applies here: this layer lives as long as a test.
      record: (execution) =>
        Effect.sync(() => {
          records.set(execution.id, execution)
          if (records.size > maxCount) records.delete(records.keys().next().value!)
        }),
      list: Effect.fn("ExecutionLog.list")(function*(options: ExecutionListOptions) {
        const after = yield* pageStart(options.cursor)
        const matching = [...records.values()]
          .filter((e) => options.scriptId === undefined || e.script_id === options.scriptId)
          .filter((e) => options.appIds === undefined || options.appIds.includes(e.app_id))
          .filter((e) => Option.isNone(after) || compareNewestFirst(key(e), after.value) > 0)
          .sort((a, b) => compareNewestFirst(key(a), key(b)))
        const items = matching.slice(0, options.limit)
        const last = items.at(-1)
        return { items, next_cursor: matching.length > options.limit && last ? encodeCursor(key(last)) : null }
      }),
      get: (id) => {
        const found = records.get(id)
        return found ? Effect.succeed(found) : Effect.fail(new ExecutionNotFound({ id }))
      },
      flush: Effect.void
    })
  })
)
