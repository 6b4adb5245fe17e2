import { Effect, Layer, Option } from "effect"
import { ExecutionNotFound } from "../domain/Errors.ts"
import type { ExecutionRecord } from "../domain/Execution.ts"
import { type ExecutionListOptions, ExecutionLog } from "../domain/ExecutionLog.ts"
import { compareNewestFirst, encodeCursor, pageStart } from "./executionCursor.ts"

const key = (e: ExecutionRecord) => ({ startedAt: e.started_at, id: e.id })

/** Execution records in memory: written at once, so there is nothing to batch or flush. */
export const layerMemory = Layer.sync(ExecutionLog, () => {
  const records = new Map<string, ExecutionRecord>()
  return ExecutionLog.of({
    record: (execution) => Effect.sync(() => void records.set(execution.id, execution)),
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
