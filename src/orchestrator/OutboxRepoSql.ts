import { Effect, Layer, Option, Result, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import * as Settings from "../config/Settings.ts"
import { byUuid, persistence, Timestamp } from "../db/persistence.ts"
import { storableJson } from "../db/storableJson.ts"
import { DeadLetter } from "../domain/DeadLetter.ts"
import { IdempotencyKeyReused, OutboxFull } from "../domain/Errors.ts"
import { type ExecutionAttempt, ExecutionErrorInfo, type ExecutionRecord, type Lineage } from "../domain/Execution.ts"
import { ExecutionId, UUID_PATTERN } from "../domain/Ids.ts"
import {
  type Accepted,
  type DeadLetterListOptions,
  type HandlerJob,
  IDEMPOTENCY_WINDOW_HOURS,
  type Job,
  type NewJob,
  OutboxRepo,
  requestFingerprint,
  withJobKind
} from "../domain/OutboxRepo.ts"
import { RetryPolicy } from "../domain/RetryPolicy.ts"
import { DispatcherWake, OUTBOX_CHANNEL } from "./DispatcherWake.ts"
import { insertAttempt, insertExecutions } from "./executionRows.ts"

/** The outbox columns, as selected and as `JobRow` decodes them. */
const JOB_COLUMNS = [
  "id",
  "app_id",
  "script_id",
  "kind",
  "payload",
  "retry",
  "attempt_count",
  "lease_seconds",
  "next_attempt_at",
  "claimed_by",
  "claimed_until",
  "last_error",
  "accepted_at",
  "root_execution_id",
  "parent_execution_id",
  "trigger_depth",
  "trigger_id",
  "dead_letter_script_id"
]

/** How often expired idempotency keys are cleared (after an enqueue that carries one: never when idle). */
const KEY_PRUNE_EVERY_MS = 3_600_000

/** The lineage columns of outbox and dead-letter rows: a NULL root (rows from before 0010) is the row's own id. */
const LineageColumns = {
  root_execution_id: Schema.NullOr(Schema.String),
  parent_execution_id: Schema.NullOr(Schema.String),
  trigger_depth: Schema.Int,
  trigger_id: Schema.NullOr(Schema.String)
}

/** An outbox row (`JOB_COLUMNS`): selected, or one element of a claim's `json_agg`; one member per kind. */
const JobRow = withJobKind({
  id: ExecutionId,
  app_id: Schema.String,
  script_id: Schema.String,
  retry: RetryPolicy,
  attempt_count: Schema.Int,
  lease_seconds: Schema.Int,
  next_attempt_at: Timestamp,
  claimed_by: Schema.NullOr(Schema.String),
  claimed_until: Schema.NullOr(Timestamp),
  last_error: Schema.NullOr(ExecutionErrorInfo),
  accepted_at: Timestamp,
  ...LineageColumns,
  dead_letter_script_id: Schema.NullOr(Schema.String)
})

const decodeJob = Schema.decodeUnknownResult(JobRow)

/** The lineage of a row, from its lineage columns. */
const lineageOf = (row: { readonly id: string } & Schema.Struct.Type<typeof LineageColumns>): Lineage => ({
  root_execution_id: row.root_execution_id ?? row.id,
  parent_execution_id: row.parent_execution_id,
  trigger_depth: row.trigger_depth,
  trigger_id: row.trigger_id
})

const toJob = (row: typeof JobRow.Type): Job => {
  const { root_execution_id: _r, parent_execution_id: _p, trigger_depth: _d, trigger_id: _t, ...job } = row
  return { ...job, lineage: lineageOf(row) }
}

/** The outbox columns a new row is written with (the rest take their defaults). */
const outboxRow = (job: NewJob) => ({
  id: job.id,
  app_id: job.app_id,
  script_id: job.script_id,
  kind: job.kind,
  payload: job.payload,
  retry: job.retry,
  lease_seconds: job.lease_seconds,
  accepted_at: job.accepted_at,
  ...job.lineage,
  dead_letter_script_id: job.dead_letter_script_id
})

/** A row still in the outbox, as `queuedChildren` selects it. */
const QueuedRow = Schema.Struct({
  id: ExecutionId,
  app_id: Schema.String,
  script_id: Schema.String,
  kind: Schema.Literals(["http", "kv", "schedule", "dead_letter"]),
  accepted_at: Timestamp,
  ...LineageColumns
})

/** A dead letter as `DEAD_LETTER_COLUMNS` selects it: the domain's shape, with timestamptz columns. */
const DeadLetterRow = Schema.Struct({ ...DeadLetter.fields, accepted_at: Timestamp, dead_lettered_at: Timestamp })

const DEAD_LETTER_COLUMNS = "id, app_id, script_id, kind AS invocation, payload -> 'request' AS request, " +
  "payload -> 'event' AS event, attempts, error, accepted_at, created_at AS dead_lettered_at, replayed_as, " +
  "resolution, resolution_error"

/** The columns a dead letter keeps of its outbox row, as `removed` returns them. */
const KEPT_COLUMNS = "root_execution_id, parent_execution_id, trigger_depth, trigger_id, dead_letter_script_id"

/**
 * The outbox in PostgreSQL. Claims are one statement (`FOR UPDATE SKIP LOCKED`, so concurrent
 * claimers never share a row) that also returns when the next row falls due, so an idle
 * dispatcher costs one query per sleep. New rows wake this process's dispatcher at once and, by
 * NOTIFY in the same statement, every other one. Times are the database's (`now()`), one clock for
 * every node.
 */
export const layer = Layer.effect(
  OutboxRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const wake = yield* DispatcherWake
    const maxQueued = yield* Settings.maxQueuedExecutions.config
    // Rows in the outbox, kept by this process's writes and ends; counted afresh (at most once a
    // second) when it reaches the limit, which also corrects it for other processes' work.
    let queued = 0
    let countedAt = 0
    const countRows = SqlSchema.findOne({
      Request: Schema.Void,
      Result: Schema.Struct({ n: Schema.Int }),
      execute: () => sql`SELECT count(*)::int AS n FROM outbox`
    })
    const count = countRows().pipe(
      Effect.map(({ n }) => {
        queued = n
        countedAt = Date.now()
      })
    )
    yield* count.pipe(persistence("OutboxRepo.count"))
    /** Fails with `OutboxFull` when the outbox holds `maxQueued` rows (recounted if it seems so). */
    const room = Effect.suspend(() =>
      queued < maxQueued
        ? Effect.void
        : (Date.now() - countedAt < 1000 ? Effect.void : count).pipe(
          Effect.andThen(() => (queued < maxQueued ? Effect.void : Effect.fail(new OutboxFull({ limit: maxQueued }))))
        )
    )
    /** A claim ended by removing its row (complete, dead-letter): one row fewer. */
    const ended = (removed: boolean) =>
      Effect.sync(() => {
        if (removed) queued--
      })
    const columns = sql.literal(JOB_COLUMNS.join(", "))
    const claimedColumns = sql.literal(JOB_COLUMNS.map((column) => `o.${column}`).join(", "))
    let keysPrunedAt = 0

    const keptColumns = sql.literal(KEPT_COLUMNS)

    /**
     * New rows, due now, in one statement (one JSON parameter however many rows), with a NOTIFY
     * that PostgreSQL delivers when the transaction around it commits (none if it rolls back).
     */
    const insertRows = (jobs: ReadonlyArray<NewJob>) =>
      sql`
        WITH jobs AS (
          INSERT INTO outbox (id, app_id, script_id, kind, payload, retry, lease_seconds, next_attempt_at, accepted_at,
            ${keptColumns})
          SELECT id, app_id, script_id, kind, payload, retry, lease_seconds, now(), accepted_at, ${keptColumns}
          FROM jsonb_populate_recordset(NULL::outbox, ${storableJson(jobs.map(outboxRow))}::jsonb)
          RETURNING id
        )
        SELECT pg_notify(${OUTBOX_CHANNEL}, '') WHERE EXISTS (SELECT 1 FROM jobs)`.pipe(
        Effect.tap(() => Effect.sync(() => (queued += jobs.length)))
      )

    /** The key's holder; there is one, since taking the key just ran into it. */
    const keyHolder = SqlSchema.findOne({
      Request: Schema.Struct({ app_id: Schema.String, key: Schema.String }),
      Result: Schema.Struct({ execution_id: ExecutionId, fingerprint: Schema.String, accepted_at: Timestamp }),
      execute: ({ app_id, key }) =>
        sql`
          SELECT k.execution_id, k.fingerprint, coalesce(o.accepted_at, e.accepted_at, k.created_at) AS accepted_at
          FROM idempotency_keys k
          LEFT JOIN outbox o ON o.id = k.execution_id
          LEFT JOIN executions e ON e.id = k.execution_id
          WHERE k.app_id = ${app_id} AND k.key = ${key}`
    })

    /**
     * The execution an unexpired key names (or `IdempotencyKeyReused`, for another request), or
     * `None` after taking the key for `job`.
     */
    const takeKey = (job: NewJob, key: string) =>
      Effect.gen(function*() {
        const fingerprint = requestFingerprint(job)
        const taken = yield* sql`
          INSERT INTO idempotency_keys (app_id, key, execution_id, fingerprint) VALUES (${job.app_id}, ${key}, ${job.id}, ${fingerprint})
          ON CONFLICT (app_id, key) DO UPDATE
            SET execution_id = excluded.execution_id, fingerprint = excluded.fingerprint, created_at = now()
            WHERE idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
          RETURNING execution_id`
        if (taken.length) return Option.none()
        const earlier = yield* keyHolder({ app_id: job.app_id, key })
        if (earlier.fingerprint !== fingerprint) return yield* new IdempotencyKeyReused({ key })
        return Option.some<Accepted>({
          execution_id: earlier.execution_id,
          accepted_at: earlier.accepted_at,
          repeated: true
        })
      })

    const pruneKeys = Effect.suspend(() => {
      if (Date.now() - keysPrunedAt < KEY_PRUNE_EVERY_MS) return Effect.void
      keysPrunedAt = Date.now()
      return sql`DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`
        .pipe(
          Effect.asVoid
        )
    })

    const enqueue = (job: NewJob, idempotencyKey?: string) => {
      const accepted: Accepted = { execution_id: job.id, accepted_at: job.accepted_at, repeated: false }
      const insertJob = (job: NewJob) => insertRows([job])
      const write = idempotencyKey === undefined
        ? insertJob(job).pipe(Effect.as(accepted))
        : Effect.gen(function*() {
          const earlier = yield* takeKey(job, idempotencyKey)
          if (Option.isSome(earlier)) return earlier.value
          yield* insertJob(job)
          return accepted
        }).pipe(sql.withTransaction, Effect.tap(() => pruneKeys))
      return room.pipe(
        Effect.andThen(write),
        Effect.tap((accepted) => (accepted.repeated ? Effect.void : wake.signal)),
        persistence("OutboxRepo.enqueue")
      )
    }

    // The KV commit runs this inside its transaction: the statement joins it. This process's
    // dispatcher is signalled at once (an early look finds nothing until the commit; the NOTIFY,
    // delivered at commit, wakes it again through its LISTEN).
    const enqueueAll = Effect.fn("OutboxRepo.enqueueAll")(function*(jobs: ReadonlyArray<NewJob>) {
      if (jobs.length === 0) return
      yield* insertRows(jobs)
      yield* wake.signal
    }, persistence("OutboxRepo.enqueueAll"))

    // The claimed rows come as one `json_agg`, decoded row by row (below); `next_due` is cast to
    // float8, which the driver gives as a number (numeric arrives as text).
    const claimRows = SqlSchema.findOne({
      Request: Schema.Struct({ owner: Schema.String, limit: Schema.Int }),
      Result: Schema.Struct({ jobs: Schema.Array(Schema.Unknown), next_due: Schema.NullOr(Schema.Number) }),
      execute: ({ owner, limit }) =>
        sql`
        WITH due AS (
          SELECT id FROM outbox
          WHERE next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until <= now())
          ORDER BY next_attempt_at
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        ), claimed AS (
          UPDATE outbox o SET attempt_count = o.attempt_count + 1, claimed_by = ${owner},
            claimed_until = now() + make_interval(secs => o.lease_seconds)
          FROM due WHERE o.id = due.id
          RETURNING ${claimedColumns}
        )
        SELECT
          (SELECT coalesce(json_agg(claimed), '[]'::json) FROM claimed) AS jobs,
          (SELECT (extract(epoch FROM min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at)))) * 1000)::float8
             FROM outbox WHERE id NOT IN (SELECT id FROM claimed)) AS next_due`
    })

    /**
     * A claimed row that does not decode (written by hand, or by a broken release) is logged and
     * left claimed: it must not stop the rows claimed with it, nor every claim after it. It is
     * claimed, and logged, again when its lease ends, until someone repairs or deletes it.
     */
    const decodeJobs = (rows: ReadonlyArray<unknown>) =>
      Effect.gen(function*() {
        const jobs: Array<Job> = []
        for (const row of rows) {
          const decoded = decodeJob(row)
          if (Result.isSuccess(decoded)) {
            jobs.push(toJob(decoded.success))
          } else {
            const id = typeof row === "object" && row !== null && "id" in row ? String(row.id) : "(no id)"
            yield* Effect.logError(`outbox row ${id} does not decode; skipped until its lease ends`, decoded.failure)
          }
        }
        return jobs
      })

    const claim = (owner: string, limit: number) =>
      claimRows({ owner, limit }).pipe(
        Effect.flatMap(({ jobs, next_due }) =>
          decodeJobs(jobs).pipe(Effect.map((decoded) => ({ jobs: decoded, nextDueAt: next_due })))
        ),
        persistence("OutboxRepo.claim")
      )

    /** The row, deleted if `owner` still holds it: a CTE for the statement that ends the claim. */
    const removed = (job: Job, owner: string) =>
      sql`removed AS (
        DELETE FROM outbox WHERE id = ${job.id} AND claimed_by = ${owner} AND claimed_until > now()
        RETURNING ${columns})`

    /** A handler's end resolves its dead letter: `handled` when it succeeded, else `handler_failed`. */
    const resolved = (job: Job, record: ExecutionRecord) =>
      job.kind !== "dead_letter" ? sql`` : sql`, resolved AS (
        UPDATE dead_letters SET resolution = ${record.status === "succeeded" ? "handled" : "handler_failed"},
          resolution_error = ${record.status === "succeeded" ? null : storableJson(record.error)}::jsonb
        WHERE id = ${job.payload.dead_letter.id} AND EXISTS (SELECT 1 FROM removed))`

    // Removal and record in one statement: atomic, and one round trip per finished execution.
    const complete = (job: Job, owner: string, record: ExecutionRecord) =>
      sql`WITH ${removed(job, owner)}${resolved(job, record)}
        ${insertExecutions(sql, [record], { onConflict: "replace", onlyIf: sql`EXISTS (SELECT 1 FROM removed)` })}`
        .pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.tap(ended),
          persistence("OutboxRepo.complete")
        )

    // The row put back and its failed attempt kept: one statement.
    const retryLater = (
      job: Job,
      owner: string,
      options: {
        readonly delayMs: number
        readonly error: Job["last_error"]
        readonly attempt?: ExecutionAttempt | undefined
      }
    ) =>
      sql`
        WITH retried AS (
          UPDATE outbox SET claimed_by = NULL, claimed_until = NULL,
            next_attempt_at = now() + make_interval(secs => ${options.delayMs / 1000}),
            last_error = coalesce(${options.error === null ? null : storableJson(options.error)}::jsonb, last_error)
          WHERE id = ${job.id} AND claimed_by = ${owner} AND claimed_until > now()
          RETURNING id
        )${
        options.attempt === undefined
          ? sql``
          : sql`, kept AS (${
            insertAttempt(sql, job.id, options.attempt, { onlyIf: sql`EXISTS (SELECT 1 FROM retried)` })
          })`
      }
        SELECT id FROM retried`.pipe(Effect.map((rows) => rows.length > 0), persistence("OutboxRepo.retryLater"))

    /** Removal, dead letter and record in one statement. */
    const moveToDeadLetters = (job: Job, owner: string, record: ExecutionRecord, handler: HandlerJob | undefined) =>
      sql`WITH ${removed(job, owner)}, dead AS (
          INSERT INTO dead_letters (id, app_id, script_id, kind, payload, retry, lease_seconds, attempts, error,
            accepted_at, created_at, resolution, ${keptColumns})
          SELECT id, app_id, script_id, kind, payload, retry, lease_seconds, attempt_count,
            ${storableJson(record.error)}::jsonb, accepted_at,
            coalesce(${handler?.payload.dead_letter.dead_lettered_at ?? null}::timestamptz, now()),
            ${handler === undefined ? null : "pending"}, ${keptColumns}
          FROM removed
          ON CONFLICT (id) DO NOTHING
        )
        ${insertExecutions(sql, [record], { onConflict: "replace", onlyIf: sql`EXISTS (SELECT 1 FROM removed)` })}`
        .pipe(Effect.map((rows) => rows.length > 0))

    // With a handler, its row joins the same transaction: a dead letter whose handler never runs
    // cannot happen, nor a handler for an execution that was not dead-lettered.
    const deadLetter = (job: Job, owner: string, record: ExecutionRecord, handler?: HandlerJob) =>
      (handler === undefined
        ? moveToDeadLetters(job, owner, record, handler)
        : Effect.gen(function*() {
          const moved = yield* moveToDeadLetters(job, owner, record, handler)
          if (moved) yield* insertRows([handler])
          return moved
        }).pipe(sql.withTransaction)).pipe(
          Effect.tap(ended),
          Effect.tap((moved) => (moved && handler !== undefined ? wake.signal : Effect.void)),
          persistence("OutboxRepo.deadLetter")
        )

    const releaseStale = (nodeId: string, keep: ReadonlyArray<string>) =>
      sql`
        UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
        WHERE left(claimed_by, ${nodeId.length + 1}) = ${`${nodeId}/`} AND NOT (id::text = ANY(${`{${
        keep.join(",")
      }}`}::text[]))
        RETURNING id`.pipe(Effect.map((rows) => rows.length), persistence("OutboxRepo.releaseStale"))

    const findJob = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: JobRow,
      execute: (id) => sql`SELECT ${columns} FROM outbox WHERE id = ${id}`
    })

    const find = (id: string) =>
      byUuid(id, findJob, Option.none()).pipe(Effect.map(Option.map(toJob)), persistence("OutboxRepo.find"))

    const queuedRows = SqlSchema.findAll({
      Request: Schema.Struct({ parentIds: Schema.Array(Schema.String), limit: Schema.Int }),
      Result: QueuedRow,
      execute: ({ parentIds, limit }) =>
        sql`
          SELECT id, app_id, script_id, kind, accepted_at, root_execution_id, parent_execution_id, trigger_depth, trigger_id
          FROM outbox WHERE parent_execution_id = ANY(${`{${parentIds.join(",")}}`}::uuid[])
          ORDER BY accepted_at, id
          LIMIT ${limit}`
    })

    const queuedChildren = Effect.fn("OutboxRepo.queuedChildren")(
      function*(parentIds: ReadonlyArray<string>, limit: number) {
        const ids = parentIds.filter((id) => UUID_PATTERN.test(id))
        if (ids.length === 0 || limit <= 0) return []
        const rows = yield* queuedRows({ parentIds: ids, limit })
        return rows.map(({ id, app_id, script_id, kind, accepted_at, ...lineage }) => ({
          id,
          app_id,
          script_id,
          kind,
          accepted_at,
          lineage: lineageOf({ id, ...lineage })
        }))
      },
      persistence("OutboxRepo.queuedChildren")
    )

    const abandon = (id: string) =>
      sql`INSERT INTO abandoned_executions (execution_id) VALUES (${id}) ON CONFLICT DO NOTHING`.pipe(
        Effect.asVoid,
        persistence("OutboxRepo.abandon")
      )

    const deadLetterColumns = sql.literal(DEAD_LETTER_COLUMNS)

    // Ordered by the time to the millisecond, as the API shows it (and a cursor carries it), then id.
    const listDeadLetters = SqlSchema.findAll({
      Request: Schema.Struct({
        appIds: Schema.optional(Schema.Array(Schema.String)),
        scriptId: Schema.optional(Schema.String),
        resolution: Schema.optional(Schema.String),
        after: Schema.optional(Schema.Struct({ at: Schema.String, id: Schema.String })),
        limit: Schema.Int
      }),
      Result: DeadLetterRow,
      execute: ({ appIds, scriptId, resolution, after, limit }) => {
        const conditions = [
          ...(appIds === undefined ? [] : [sql`app_id::text IN ${sql.in(appIds.length ? appIds : [""])}`]),
          ...(scriptId === undefined ? [] : [sql`script_id::text = ${scriptId}`]),
          ...(resolution === undefined
            ? []
            : [resolution === "none" ? sql`resolution IS NULL` : sql`resolution = ${resolution}`]),
          ...(after === undefined
            ? []
            : [sql`(date_trunc('milliseconds', created_at), id) < (${after.at}::timestamptz, ${after.id}::uuid)`])
        ]
        return sql`
        SELECT ${deadLetterColumns} FROM dead_letters
        ${conditions.length ? sql`WHERE ${sql.and(conditions)}` : sql``}
        ORDER BY date_trunc('milliseconds', created_at) DESC, id DESC
        LIMIT ${limit}`
      }
    })

    const deadLetters = (options: DeadLetterListOptions) =>
      (options.after !== undefined && !UUID_PATTERN.test(options.after.id)
        ? Effect.succeed([])
        : listDeadLetters(options)).pipe(persistence("OutboxRepo.deadLetters"))

    const findDeadLetterRow = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: DeadLetterRow,
      execute: (id) => sql`SELECT ${deadLetterColumns} FROM dead_letters WHERE id = ${id}`
    })

    const findDeadLetter = (id: string) =>
      byUuid(id, findDeadLetterRow, Option.none()).pipe(persistence("OutboxRepo.findDeadLetter"))

    const replay = (id: string, executionId: ExecutionId, acceptedAt: string) =>
      byUuid(id, (id) =>
        sql`
          WITH dead AS (
            UPDATE dead_letters SET replayed_as = ${executionId} WHERE id = ${id}
            RETURNING id, app_id, script_id, kind, payload, retry, lease_seconds, root_execution_id, trigger_depth,
              trigger_id, dead_letter_script_id
          ), job AS (
            INSERT INTO outbox (id, app_id, script_id, kind, payload, retry, lease_seconds, next_attempt_at, accepted_at,
              ${keptColumns})
            SELECT ${executionId}, app_id, script_id, kind, payload, retry, lease_seconds, now(), ${acceptedAt},
              coalesce(root_execution_id, id), id, trigger_depth, trigger_id, dead_letter_script_id
            FROM dead
            RETURNING id
          )
          SELECT id, pg_notify(${OUTBOX_CHANNEL}, '') FROM job`, []).pipe(
          Effect.map((rows) =>
            rows.length === 0
              ? Option.none<Accepted>()
              : Option.some<Accepted>({ execution_id: executionId, accepted_at: acceptedAt, repeated: false })
          ),
          Effect.tap((
            accepted
          ) => (Option.isSome(accepted) ? Effect.andThen(Effect.sync(() => queued++), wake.signal) : Effect.void)),
          persistence("OutboxRepo.replay")
        )

    const discard = (id: string) =>
      byUuid(id, (id) => sql`DELETE FROM dead_letters WHERE id = ${id} RETURNING id`, []).pipe(
        Effect.map((rows) => rows.length > 0),
        persistence("OutboxRepo.discard")
      )

    // One pass over the outbox, whose size PICLOUD_MAX_QUEUED_EXECUTIONS bounds; `/metrics` caches it.
    const readStats = SqlSchema.findOne({
      Request: Schema.Void,
      Result: Schema.Struct({ rows: Schema.Int, due: Schema.Int, oldest_due_age_ms: Schema.Number }),
      execute: () =>
        sql`
          SELECT count(*)::int AS rows, count(*) FILTER (WHERE due)::int AS due,
            coalesce(extract(epoch FROM now() - min(claimable_at) FILTER (WHERE due)) * 1000, 0)::float8
              AS oldest_due_age_ms
          FROM (
            SELECT greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at)) AS claimable_at,
              next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until <= now()) AS due
            FROM outbox
          ) o`
    })

    const stats = readStats().pipe(
      Effect.map(({ rows, due, oldest_due_age_ms }) => ({ rows, due, oldestDueAgeMs: oldest_due_age_ms })),
      persistence("OutboxRepo.stats")
    )

    return OutboxRepo.of({
      enqueue,
      enqueueAll,
      claim,
      complete,
      retryLater,
      deadLetter,
      releaseStale,
      find,
      queuedChildren,
      abandon,
      deadLetters,
      findDeadLetter,
      replay,
      discard,
      stats
    })
  })
)
