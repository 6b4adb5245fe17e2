import { Array as Arr, Effect, Latch, Layer, Option, Schema, Semaphore } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import { byUuid, persistence, refusedData } from "../db/persistence.ts"
import { ExecutionNotFound } from "../domain/Errors.ts"
import { type ExecutionAttempt, type ExecutionRecord, ExecutionStatus, Invocation } from "../domain/Execution.ts"
import { type ExecutionListOptions, ExecutionLog } from "../domain/ExecutionLog.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"
import { encodeCursor, pageStart } from "./executionCursor.ts"
import { executionRetentionConfig } from "./ExecutionRetention.ts"
import {
  ATTEMPT_COLUMNS,
  AttemptRow,
  ExecutionNodeRow,
  ExecutionRow,
  insertAttempt,
  insertExecutions,
  SELECTED_EXECUTION_COLUMNS
} from "./executionRows.ts"

/** Rows per INSERT. */
const BATCH_SIZE = 500
/** Records kept while the database is away; past this the oldest are dropped, with a warning. */
const MAX_PENDING = 10_000
const RETRY_AFTER_FAILURE = "1 second"

/**
 * Execution records in PostgreSQL, written off the hot path: `record` appends to a buffer and wakes
 * a writer fiber, which inserts whatever has gathered in multi-row batches. Under load, records
 * gather while the previous batch is in flight; when idle the fiber waits on a latch (no polling).
 */
export const layer = Layer.effect(
  ExecutionLog,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const retention = yield* executionRetentionConfig
    const pending: Array<ExecutionRecord> = []
    let prunedAt = 0
    const wake = yield* Latch.make(false)
    // One writer at a time: `flush` waits for a batch in flight before writing the rest.
    const writer = yield* Semaphore.make(1)

    const insert = (batch: Arr.NonEmptyReadonlyArray<ExecutionRecord>) =>
      insertExecutions(sql, batch, { onConflict: "keep" })

    /**
     * A batch PostgreSQL refused for what it holds (not for being unreachable) is written record by
     * record, and a record refused on its own is dropped with an error: put back, it would be
     * refused again forever and hold up every record after it.
     */
    const insertEach = (batch: Arr.NonEmptyReadonlyArray<ExecutionRecord>) =>
      Effect.forEach(batch, (record) =>
        insert([record]).pipe(
          Effect.catchIf(refusedData, (error) =>
            Effect.logError(`execution ${record.id} could not be recorded; dropped`, error))
        ), { discard: true })

    /** Writes everything pending now, batch by batch; a batch that could not be sent goes back to the front. */
    const writePending = writer.withPermits(1)(Effect.gen(function*() {
      for (;;) {
        const batch = pending.splice(0, BATCH_SIZE)
        if (!Arr.isArrayNonEmpty(batch)) return
        yield* insert(batch).pipe(
          Effect.catchIf(refusedData, () => insertEach(batch)),
          Effect.tapError(() => Effect.sync(() => pending.unshift(...batch)))
        )
      }
    })).pipe(persistence("ExecutionLog.write"))

    /**
     * Drops records past the retention age, then all but the newest `maxCount`, with their kept
     * attempts; attempts past the age go too (those of an execution that never got its record).
     */
    const prune = Effect.gen(function*() {
      prunedAt = Date.now()
      yield* sql`DELETE FROM executions WHERE started_at < now() - make_interval(days => ${retention.maxAgeDays})`
      yield* sql`
        DELETE FROM execution_attempts WHERE started_at < now() - make_interval(days => ${retention.maxAgeDays})`
      yield* sql`
        WITH gone AS (
          DELETE FROM executions WHERE (started_at, id) <= (
            SELECT started_at, id FROM executions ORDER BY started_at DESC, id DESC OFFSET ${retention.maxCount} LIMIT 1
          )
          RETURNING id
        )
        DELETE FROM execution_attempts WHERE execution_id IN (SELECT id FROM gone)`
    }).pipe(persistence("ExecutionLog.prune"))

    const writerLoop = Effect.gen(function*() {
      yield* wake.await
      yield* wake.close
      yield* writePending.pipe(
        Effect.andThen(Effect.suspend(() =>
          Date.now() - prunedAt >= retention.everyMs
            ? prune.pipe(Effect.catch((error) => Effect.logWarning("pruning execution records failed", error.cause)))
            : Effect.void
        )),
        Effect.catch((error) =>
          Effect.logError("writing execution records failed; will retry", error.cause).pipe(
            Effect.andThen(Effect.sleep(RETRY_AFTER_FAILURE)),
            Effect.andThen(wake.open)
          )
        )
      )
    }).pipe(Effect.forever)

    yield* writerLoop.pipe(Effect.forkScoped)
    // Whatever is still pending when the layer closes is written before the database goes away.
    yield* Effect.addFinalizer(() =>
      writePending.pipe(
        Effect.catch((error) => Effect.logError("could not write execution records at shutdown", error.cause))
      )
    )

    const record = (execution: ExecutionRecord) =>
      Effect.suspend(() => {
        pending.push(execution)
        if (pending.length > MAX_PENDING) {
          pending.splice(0, pending.length - MAX_PENDING)
          return Effect.logWarning(`execution log backlog over ${MAX_PENDING}; dropped the oldest records`).pipe(
            Effect.andThen(wake.open),
            Effect.asVoid
          )
        }
        return wake.open.pipe(Effect.asVoid)
      })

    const columns = sql.literal(SELECTED_EXECUTION_COLUMNS)

    /** A page of records, and one more row when there is a next page. */
    const pageRows = SqlSchema.findAll({
      Request: Schema.Struct({
        scriptId: Schema.optional(Schema.String),
        appIds: Schema.optional(Schema.Array(Schema.String)),
        invocation: Schema.optional(Invocation),
        triggerId: Schema.optional(Schema.String),
        kvKey: Schema.optional(Schema.String),
        status: Schema.optional(ExecutionStatus),
        after: Schema.NullOr(Schema.Struct({ startedAt: Schema.String, id: Schema.String })),
        rows: Schema.Int
      }),
      Result: ExecutionRow,
      execute: ({ scriptId, appIds, invocation, triggerId, kvKey, status, after, rows }) => {
        const conditions = [
          ...(scriptId === undefined ? [] : [sql`script_id = ${scriptId}`]),
          ...(invocation === undefined ? [] : [sql`invocation = ${invocation}`]),
          ...(triggerId === undefined ? [] : [sql`trigger_id = ${triggerId}`]),
          ...(kvKey === undefined ? [] : [sql`kv_key = ${kvKey}`]),
          ...(status === undefined ? [] : [sql`status = ${status}`]),
          ...(appIds === undefined
            ? []
            : kvKey === undefined
            ? [sql`app_id::text IN ${sql.in(appIds.length ? appIds : [""])}`]
            // A key is one app's: the column uncast (ids only; `list` answers none without one) lets
            // `executions_by_kv_key` read (app, key) newest first, and stop at the page.
            : [sql`app_id IN ${sql.in(appIds.filter((id) => UUID_PATTERN.test(id)))}`]),
          ...(after === null ? [] : [sql`(started_at, id) < (${after.startedAt}::timestamptz, ${after.id}::uuid)`])
        ]
        return sql`
          SELECT ${columns} FROM executions
          ${conditions.length ? sql`WHERE ${sql.and(conditions)}` : sql``}
          ORDER BY started_at DESC, id DESC
          LIMIT ${rows}`
      }
    })

    const findRow = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: ExecutionRow,
      execute: (id) => sql`SELECT ${columns} FROM executions WHERE id = ${id}`
    })

    const list = Effect.fn("ExecutionLog.list")(function*(options: ExecutionListOptions) {
      const after = yield* pageStart(options.cursor)
      if (
        (options.scriptId !== undefined && !UUID_PATTERN.test(options.scriptId))
        || (options.triggerId !== undefined && !UUID_PATTERN.test(options.triggerId))
        || (options.kvKey !== undefined && options.appIds?.some((id) => UUID_PATTERN.test(id)) === false)
      ) {
        return { items: [], next_cursor: null }
      }
      yield* writePending
      const rows = yield* pageRows({
        scriptId: options.scriptId,
        appIds: options.appIds,
        invocation: options.invocation,
        triggerId: options.triggerId,
        kvKey: options.kvKey,
        status: options.status,
        after: Option.getOrNull(after),
        rows: options.limit + 1
      })
      const items = rows.slice(0, options.limit)
      const last = items.at(-1)
      return {
        items,
        next_cursor: rows.length > options.limit && last
          ? encodeCursor({ startedAt: last.started_at, id: last.id })
          : null
      }
    }, persistence("ExecutionLog.list"))

    const get = Effect.fn("ExecutionLog.get")(function*(id: string) {
      if (!UUID_PATTERN.test(id)) return yield* new ExecutionNotFound({ id })
      yield* writePending
      const row = yield* findRow(id)
      if (Option.isNone(row)) return yield* new ExecutionNotFound({ id })
      return row.value
    }, persistence("ExecutionLog.get"))

    const manyRows = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: ExecutionRow,
      execute: (ids) => sql`SELECT ${columns} FROM executions WHERE id IN ${sql.in(ids)}`
    })

    const getMany = Effect.fn("ExecutionLog.getMany")(function*(ids: ReadonlyArray<string>) {
      const valid = ids.filter((id) => UUID_PATTERN.test(id))
      if (valid.length === 0) return []
      yield* writePending
      const byId = new Map<string, ExecutionRecord>((yield* manyRows(valid)).map((row) => [row.id, row]))
      return valid.flatMap((id) => byId.get(id.toLowerCase()) ?? [])
    }, persistence("ExecutionLog.getMany"))

    // Breadth first (each round of the recursion is one level), and only as far as the limit asks:
    // PostgreSQL evaluates a recursive query only as far as its reader reads.
    const descendantRows = SqlSchema.findAll({
      Request: Schema.Struct({ id: Schema.String, rows: Schema.Int }),
      Result: ExecutionNodeRow,
      execute: ({ id, rows }) =>
        sql`
          WITH RECURSIVE tree (id, level) AS (
            SELECT id, 0 FROM executions WHERE id = ${id}
            UNION ALL
            SELECT e.id, tree.level + 1 FROM executions e JOIN tree ON e.parent_execution_id = tree.id
          ), bounded AS (SELECT id, level FROM tree LIMIT ${rows})
          SELECT e.id, e.app_id, e.parent_execution_id, e.script_id, e.script_name, e.invocation, e.status,
            e.trigger_id, e.trigger_depth, e.started_at, e.duration_ms
          FROM bounded JOIN executions e ON e.id = bounded.id
          ORDER BY bounded.level, e.started_at, e.id`
    })

    const descendants = Effect.fn("ExecutionLog.descendants")(function*(id: string, limit: number) {
      if (!UUID_PATTERN.test(id)) return { nodes: [], truncated: false }
      yield* writePending
      const rows = yield* descendantRows({ id, rows: limit + 1 })
      return { nodes: rows.slice(0, limit), truncated: rows.length > limit }
    }, persistence("ExecutionLog.descendants"))

    const recordAttempt = (executionId: string, attempt: ExecutionAttempt) =>
      insertAttempt(sql, executionId, attempt).pipe(Effect.asVoid, persistence("ExecutionLog.recordAttempt"))

    const attemptRows = SqlSchema.findAll({
      Request: Schema.String,
      Result: AttemptRow,
      execute: (id) =>
        sql`SELECT ${sql.literal(ATTEMPT_COLUMNS)} FROM execution_attempts WHERE execution_id = ${id} ORDER BY attempt`
    })

    const attempts = (executionId: string) =>
      byUuid(executionId, attemptRows, []).pipe(persistence("ExecutionLog.attempts"))

    // Per minute and status, and per minute (`GROUPING(status) = 1`: its total, whose p95 is the
    // minute's), in one pass over the range of `executions_by_time`.
    const minuteRows = SqlSchema.findAll({
      Request: Schema.Struct({ from: Schema.Date, appIds: Schema.optional(Schema.Array(Schema.String)) }),
      Result: Schema.Struct({
        at: Schema.Date,
        status: Schema.String,
        total: Schema.Boolean,
        n: Schema.Number,
        p95: Schema.Number,
        wait: Schema.NullOr(Schema.Number)
      }),
      execute: ({ from, appIds }) =>
        sql`
          SELECT date_trunc('minute', started_at) AS at, coalesce(status, '') AS status,
            GROUPING(status) = 1 AS total, count(*)::float8 AS n,
            percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
            (max(extract(epoch FROM started_at - accepted_at) * 1000)
              FILTER (WHERE accepted_at IS NOT NULL AND attempts = 1))::float8 AS wait
          FROM executions
          WHERE started_at >= ${from}${appIds === undefined ? sql`` : sql` AND app_id IN ${sql.in(appIds)}`}
          GROUP BY GROUPING SETS ((date_trunc('minute', started_at), status), (date_trunc('minute', started_at)))
          ORDER BY 1`
    })

    const minuteStats = Effect.fn("ExecutionLog.minuteStats")(function*(options: {
      readonly from: Date
      readonly appIds?: ReadonlyArray<string> | undefined
    }) {
      const appIds = options.appIds?.filter((id) => UUID_PATTERN.test(id))
      if (appIds !== undefined && appIds.length === 0) return []
      yield* writePending
      const minutes = new Map<number, { outcomes: Record<string, number>; p95Ms: number; waitMs: number | null }>()
      for (const row of yield* minuteRows({ from: options.from, appIds })) {
        const at = row.at.getTime()
        const minute = minutes.get(at) ?? { outcomes: {}, p95Ms: 0, waitMs: null }
        if (row.total) {
          minute.p95Ms = row.p95
          minute.waitMs = row.wait === null ? null : Math.max(0, row.wait)
        } else minute.outcomes[row.status] = row.n
        minutes.set(at, minute)
      }
      return [...minutes].map(([at, minute]) => ({ at, ...minute }))
    }, persistence("ExecutionLog.minuteStats"))

    return ExecutionLog.of({
      record,
      list,
      get,
      descendants,
      minuteStats,
      recordAttempt,
      attempts,
      getMany,
      flush: writePending
    })
  })
)
