import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import * as Settings from "../config/Settings.ts"
import { isoTimestamp, jsonValue, persistence, rowsByUuid } from "../db/persistence.ts"
import { storableJson } from "../db/storableJson.ts"
import type { DeadLetter } from "../domain/DeadLetter.ts"
import { IdempotencyKeyReused, OutboxFull } from "../domain/Errors.ts"
import type { ExecutionRecord } from "../domain/Execution.ts"
import type { ExecutionId } from "../domain/Ids.ts"
import {
  type Accepted,
  type HttpJobPayload,
  IDEMPOTENCY_WINDOW_HOURS,
  type Job,
  type NewJob,
  OutboxRepo,
  requestFingerprint
} from "../domain/OutboxRepo.ts"
import { DispatcherWake, OUTBOX_CHANNEL } from "./DispatcherWake.ts"
import { insertExecutions } from "./executionRows.ts"

const COLUMNS =
  "id, app_id, script_id, kind, payload, retry, attempt_count, lease_seconds, next_attempt_at, claimed_by, claimed_until, last_error, accepted_at"

/** How often expired idempotency keys are cleared (after an enqueue that carries one: never when idle). */
const KEY_PRUNE_EVERY_MS = 3_600_000

interface JobRow
  extends Omit<Job, "next_attempt_at" | "claimed_until" | "accepted_at" | "payload" | "retry" | "last_error">
{
  readonly next_attempt_at: unknown
  readonly claimed_until: unknown
  readonly accepted_at: unknown
  readonly payload: unknown
  readonly retry: unknown
  readonly last_error: unknown
}

interface DeadLetterRow {
  readonly id: string
  readonly app_id: string
  readonly script_id: string
  readonly payload: unknown
  readonly attempts: number
  readonly error: unknown
  readonly accepted_at: unknown
  readonly dead_lettered_at: unknown
  readonly replayed_as: string | null
}

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.id,
  app_id: row.app_id,
  script_id: row.script_id,
  request: jsonValue<HttpJobPayload>(row.payload).request,
  attempts: row.attempts,
  error: jsonValue(row.error),
  accepted_at: isoTimestamp(row.accepted_at),
  dead_lettered_at: isoTimestamp(row.dead_lettered_at),
  replayed_as: row.replayed_as
})

const toJob = (row: JobRow): Job => ({
  ...row,
  id: row.id as ExecutionId,
  payload: jsonValue(row.payload),
  retry: jsonValue(row.retry),
  last_error: row.last_error === null ? null : jsonValue(row.last_error),
  next_attempt_at: isoTimestamp(row.next_attempt_at),
  claimed_until: row.claimed_until === null ? null : isoTimestamp(row.claimed_until),
  accepted_at: isoTimestamp(row.accepted_at)
})

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
    const count = sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox`.pipe(
      Effect.map(([row]) => {
        queued = row!.n
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
    const columns = sql.literal(COLUMNS)
    let keysPrunedAt = 0

    const insertRow = (job: NewJob) =>
      sql`
        WITH job AS (
          INSERT INTO outbox (id, app_id, script_id, kind, payload, retry, lease_seconds, next_attempt_at, accepted_at)
          VALUES (${job.id}, ${job.app_id}, ${job.script_id}, ${job.kind}, ${storableJson(job.payload)}::jsonb,
            ${storableJson(job.retry)}::jsonb, ${job.lease_seconds}, now(), ${job.accepted_at})
          RETURNING id
        )
        SELECT pg_notify(${OUTBOX_CHANNEL}, '') FROM job`

    /**
     * The execution an unexpired key names (or `IdempotencyKeyReused`, for another request), or
     * `None` after taking the key for `job`.
     */
    const takeKey = (job: NewJob, key: string) =>
      Effect.gen(function*() {
        const fingerprint = requestFingerprint(job)
        const taken = yield* sql<{ execution_id: string }>`
          INSERT INTO idempotency_keys (app_id, key, execution_id, fingerprint) VALUES (${job.app_id}, ${key}, ${job.id}, ${fingerprint})
          ON CONFLICT (app_id, key) DO UPDATE
            SET execution_id = excluded.execution_id, fingerprint = excluded.fingerprint, created_at = now()
            WHERE idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
          RETURNING execution_id`
        if (taken.length) return Option.none()
        const [earlier] = yield* sql<{ execution_id: string; fingerprint: string; accepted_at: unknown }>`
          SELECT k.execution_id, k.fingerprint, coalesce(o.accepted_at, e.accepted_at, k.created_at) AS accepted_at
          FROM idempotency_keys k
          LEFT JOIN outbox o ON o.id = k.execution_id
          LEFT JOIN executions e ON e.id = k.execution_id
          WHERE k.app_id = ${job.app_id} AND k.key = ${key}`
        if (earlier!.fingerprint !== fingerprint) return yield* new IdempotencyKeyReused({ key })
        return Option.some<Accepted>({
          execution_id: earlier!.execution_id as ExecutionId,
          accepted_at: isoTimestamp(earlier!.accepted_at),
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
      const insertJob = (job: NewJob) => insertRow(job).pipe(Effect.tap(() => Effect.sync(() => queued++)))
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

    const claim = (owner: string, limit: number) =>
      sql<{ jobs: unknown; next_due: unknown }>`
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
          RETURNING o.*
        )
        SELECT
          (SELECT coalesce(json_agg(claimed), '[]'::json) FROM claimed) AS jobs,
          (SELECT extract(epoch FROM min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at)))) * 1000
             FROM outbox WHERE id NOT IN (SELECT id FROM claimed)) AS next_due`.pipe(
        Effect.map(([row]) => ({
          jobs: jsonValue<ReadonlyArray<JobRow>>(row!.jobs).map(toJob),
          nextDueAt: row!.next_due === null ? null : Number(row!.next_due)
        })),
        persistence("OutboxRepo.claim")
      )

    /** The row, deleted if `owner` still holds it: a CTE for the statement that ends the claim. */
    const removed = (job: Job, owner: string) =>
      sql`removed AS (
        DELETE FROM outbox WHERE id = ${job.id} AND claimed_by = ${owner} AND claimed_until > now()
        RETURNING ${columns})`

    // Removal and record in one statement: atomic, and one round trip per finished execution.
    const complete = (job: Job, owner: string, record: ExecutionRecord) =>
      sql`WITH ${removed(job, owner)}
        ${insertExecutions(sql, [record], { onConflict: "replace", onlyIf: sql`EXISTS (SELECT 1 FROM removed)` })}`
        .pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.tap(ended),
          persistence("OutboxRepo.complete")
        )

    const retryLater = (
      job: Job,
      owner: string,
      options: { readonly delayMs: number; readonly error: Job["last_error"] }
    ) =>
      sql`
        UPDATE outbox SET claimed_by = NULL, claimed_until = NULL,
          next_attempt_at = now() + make_interval(secs => ${options.delayMs / 1000}),
          last_error = coalesce(${options.error === null ? null : storableJson(options.error)}::jsonb, last_error)
        WHERE id = ${job.id} AND claimed_by = ${owner} AND claimed_until > now()
        RETURNING id`.pipe(Effect.map((rows) => rows.length > 0), persistence("OutboxRepo.retryLater"))

    const deadLetter = (job: Job, owner: string, record: ExecutionRecord) =>
      sql`WITH ${removed(job, owner)}, dead AS (
          INSERT INTO dead_letters (id, app_id, script_id, kind, payload, retry, lease_seconds, attempts, error, accepted_at)
          SELECT id, app_id, script_id, kind, payload, retry, lease_seconds, attempt_count, ${
        storableJson(record.error)
      }::jsonb, accepted_at
          FROM removed
          ON CONFLICT (id) DO NOTHING
        )
        ${insertExecutions(sql, [record], { onConflict: "replace", onlyIf: sql`EXISTS (SELECT 1 FROM removed)` })}`
        .pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.tap(ended),
          persistence("OutboxRepo.deadLetter")
        )

    const releaseStale = (nodeId: string, keep: ReadonlyArray<string>) =>
      sql<{ id: string }>`
        UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
        WHERE left(claimed_by, ${nodeId.length + 1}) = ${`${nodeId}/`} AND NOT (id::text = ANY(${`{${
        keep.join(",")
      }}`}::text[]))
        RETURNING id`.pipe(Effect.map((rows) => rows.length), persistence("OutboxRepo.releaseStale"))

    const find = (id: string) =>
      rowsByUuid(id, (id) => sql<JobRow>`SELECT ${columns} FROM outbox WHERE id = ${id}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toJob)),
        persistence("OutboxRepo.find")
      )

    const abandon = (id: string) =>
      sql`INSERT INTO abandoned_executions (execution_id) VALUES (${id}) ON CONFLICT DO NOTHING`.pipe(
        Effect.asVoid,
        persistence("OutboxRepo.abandon")
      )

    const deadLetterColumns = sql.literal(
      "id, app_id, script_id, payload, attempts, error, accepted_at, created_at AS dead_lettered_at, replayed_as"
    )

    const deadLetters = (options: { readonly appIds?: ReadonlyArray<string> | undefined; readonly limit: number }) =>
      sql<DeadLetterRow>`
        SELECT ${deadLetterColumns} FROM dead_letters
        ${
        options.appIds === undefined
          ? sql``
          : sql`WHERE app_id::text IN ${sql.in(options.appIds.length ? options.appIds : [""])}`
      }
        ORDER BY created_at DESC, id DESC
        LIMIT ${options.limit}`.pipe(
        Effect.map((rows) => rows.map(toDeadLetter)),
        persistence("OutboxRepo.deadLetters")
      )

    const findDeadLetter = (id: string) =>
      rowsByUuid(id, (id) => sql<DeadLetterRow>`SELECT ${deadLetterColumns} FROM dead_letters WHERE id = ${id}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toDeadLetter)),
        persistence("OutboxRepo.findDeadLetter")
      )

    const replay = (id: string, executionId: ExecutionId, acceptedAt: string) =>
      rowsByUuid(id, (id) =>
        sql<{ id: string }>`
          WITH dead AS (
            UPDATE dead_letters SET replayed_as = ${executionId}, resolution = 'replayed' WHERE id = ${id}
            RETURNING app_id, script_id, kind, payload, retry, lease_seconds
          ), job AS (
            INSERT INTO outbox (id, app_id, script_id, kind, payload, retry, lease_seconds, next_attempt_at, accepted_at)
            SELECT ${executionId}, app_id, script_id, kind, payload, retry, lease_seconds, now(), ${acceptedAt}
            FROM dead
            RETURNING id
          )
          SELECT id, pg_notify(${OUTBOX_CHANNEL}, '') FROM job`).pipe(
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
      rowsByUuid(id, (id) => sql<{ id: string }>`DELETE FROM dead_letters WHERE id = ${id} RETURNING id`).pipe(
        Effect.map((rows) => rows.length > 0),
        persistence("OutboxRepo.discard")
      )

    return OutboxRepo.of({
      enqueue,
      claim,
      complete,
      retryLater,
      deadLetter,
      releaseStale,
      find,
      abandon,
      deadLetters,
      findDeadLetter,
      replay,
      discard
    })
  })
)
