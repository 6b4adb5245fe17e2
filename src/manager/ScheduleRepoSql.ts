import { Effect, Layer, Option, Schema, Struct } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { byUuid, isUniqueViolation, persistence, Timestamp } from "../db/persistence.ts"
import { ScheduleNameTaken, ScheduleNotFound } from "../domain/Errors.ts"
import { RetryPolicy } from "../domain/RetryPolicy.ts"
import { MissedPolicy, OverlapPolicy, Schedule, type SchedulePatch } from "../domain/Schedule.ts"
import { ScheduleRepo } from "../domain/ScheduleRepo.ts"
import { SCHEDULES_CHANNEL } from "./SchedulerWake.ts"

/** A `schedules` row as `COLUMNS` selects it (directly, or inside `json_agg`: timestamps as text then). */
const ScheduleRow = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  name: Schema.String,
  cron: Schema.String,
  timezone: Schema.String,
  script_id: Schema.String,
  retry: RetryPolicy,
  dead_letter_script_id: Schema.NullOr(Schema.String),
  missed: MissedPolicy,
  overlap: OverlapPolicy,
  enabled: Schema.Boolean,
  registrant_user_id: Schema.String,
  next_run_at: Schema.NullOr(Timestamp),
  skipped_ticks: Schema.Int,
  last_execution_id: Schema.NullOr(Schema.String),
  last_scheduled_at: Schema.NullOr(Timestamp),
  last_fired_at: Schema.NullOr(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp
})
type ScheduleRow = typeof ScheduleRow.Type

// `skipped_ticks` is a bigint, which the driver gives as text; as float8 it is a number (exact to 2^53).
const COLUMNS =
  "id, app_id, name, cron, timezone, script_id, retry, dead_letter_script_id, missed, overlap, enabled, " +
  "registrant_user_id, next_run_at, skipped_ticks::float8 AS skipped_ticks, last_execution_id, last_scheduled_at, " +
  "last_fired_at, created_at, updated_at"

const toSchedule = (row: ScheduleRow): Schedule => {
  const { last_execution_id, last_scheduled_at, last_fired_at, ...schedule } = row
  return {
    ...schedule,
    last_run: last_execution_id === null || last_scheduled_at === null || last_fired_at === null
      ? null
      : { execution_id: last_execution_id, scheduled_at: last_scheduled_at, fired_at: last_fired_at }
  }
}

/** What `insert` and `write` store: every field a schedule's owner sets. */
const Fields = Schedule.mapFields(Struct.omit(["skipped_ticks", "last_run", "created_at", "updated_at"]))

const nameTaken = (name: string) =>
  Effect.mapError((error: SqlError) => (isUniqueViolation(error) ? new ScheduleNameTaken({ name }) : error))

/**
 * Schedules in PostgreSQL (`schedules`). They go with their app and with the script they run
 * (foreign keys); `deleteForScript` does the same explicitly, and clears a deleted dead-letter
 * handler, so both stores behave alike. A write NOTIFYs `picloud_schedules` at its commit, so the
 * schedulers of other processes look again. Times are the database's (`now()`): one clock for
 * every process.
 */
export const layer = Layer.effect(
  ScheduleRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)
    const notify = sql`SELECT pg_notify(${SCHEDULES_CHANNEL}, '')`

    const insert = SqlSchema.findOne({
      Request: Fields,
      Result: ScheduleRow,
      execute: (s) =>
        sql`
          INSERT INTO schedules (id, app_id, name, cron, timezone, script_id, retry, dead_letter_script_id, missed,
            overlap, enabled, registrant_user_id, next_run_at)
          VALUES (${s.id}, ${s.app_id}, ${s.name}, ${s.cron}, ${s.timezone}, ${s.script_id},
            ${JSON.stringify(s.retry)}::jsonb, ${s.dead_letter_script_id}, ${s.missed}, ${s.overlap}, ${s.enabled},
            ${s.registrant_user_id}, ${s.next_run_at}::timestamptz)
          RETURNING ${columns}`.pipe(nameTaken(s.name))
    })
    const write = SqlSchema.findOne({
      Request: Fields,
      Result: ScheduleRow,
      execute: (s) =>
        sql`
          UPDATE schedules SET name = ${s.name}, cron = ${s.cron}, timezone = ${s.timezone},
            script_id = ${s.script_id}, retry = ${JSON.stringify(s.retry)}::jsonb,
            dead_letter_script_id = ${s.dead_letter_script_id}, missed = ${s.missed}, overlap = ${s.overlap},
            enabled = ${s.enabled}, registrant_user_id = ${s.registrant_user_id},
            next_run_at = ${s.next_run_at}::timestamptz, updated_at = now()
          WHERE id = ${s.id}
          RETURNING ${columns}`.pipe(nameTaken(s.name))
    })

    const listAll = SqlSchema.findAll({
      Request: Schema.Void,
      Result: ScheduleRow,
      execute: () => sql`SELECT ${columns} FROM schedules ORDER BY created_at, id`
    })
    const listForApp = SqlSchema.findAll({
      Request: Schema.String,
      Result: ScheduleRow,
      execute: (appId) => sql`SELECT ${columns} FROM schedules WHERE app_id = ${appId} ORDER BY created_at, id`
    })
    const findById = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: ScheduleRow,
      execute: (id) => sql`SELECT ${columns} FROM schedules WHERE id = ${id}`
    })
    const findForUpdate = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: ScheduleRow,
      execute: (id) => sql`SELECT ${columns} FROM schedules WHERE id = ${id} FOR UPDATE`
    })

    // The due rows come as one `json_agg`; the times as epoch milliseconds in float8, which the
    // driver gives as numbers. One statement per wake: what is due, and when the next one is.
    const dueRows = SqlSchema.findOne({
      Request: Schema.Int,
      Result: Schema.Struct({
        due: Schema.Array(ScheduleRow),
        next_due: Schema.NullOr(Schema.Number),
        now: Schema.Number
      }),
      execute: (limit) =>
        sql`
          SELECT
            (SELECT coalesce(json_agg(d), '[]'::json) FROM (
              SELECT ${columns} FROM schedules WHERE next_run_at <= now() ORDER BY next_run_at, id LIMIT ${limit}
            ) d) AS due,
            (SELECT (extract(epoch FROM min(next_run_at)) * 1000)::float8 FROM schedules WHERE next_run_at > now())
              AS next_due,
            (extract(epoch FROM now()) * 1000)::float8 AS now`
    })

    return ScheduleRepo.of({
      create: Effect.fn("ScheduleRepo.create")(
        function*(input) {
          const row = yield* insert({ ...input, id: randomUUID() })
          yield* notify
          return toSchedule(row)
        },
        sql.withTransaction,
        persistence("ScheduleRepo.create")
      ),
      list: Effect.fn("ScheduleRepo.list")(
        function*(appId) {
          const rows = yield* appId === undefined ? listAll() : byUuid(appId, listForApp, [])
          return rows.map(toSchedule)
        },
        persistence("ScheduleRepo.list")
      ),
      get: Effect.fn("ScheduleRepo.get")(
        function*(id) {
          const found = yield* byUuid(id, findById, Option.none())
          if (Option.isNone(found)) return yield* new ScheduleNotFound({ id })
          return toSchedule(found.value)
        },
        persistence("ScheduleRepo.get")
      ),
      update: Effect.fn("ScheduleRepo.update")(
        function*(id, patch: SchedulePatch) {
          const found = yield* byUuid(id, findForUpdate, Option.none())
          if (Option.isNone(found)) return yield* new ScheduleNotFound({ id })
          const row = yield* write({ ...toSchedule(found.value), ...patch })
          yield* notify
          return toSchedule(row)
        },
        sql.withTransaction,
        persistence("ScheduleRepo.update")
      ),
      delete: Effect.fn("ScheduleRepo.delete")(
        function*(id) {
          const deleted = yield* byUuid(id, (id) => sql`DELETE FROM schedules WHERE id = ${id} RETURNING id`, [])
          if (deleted.length === 0) return yield* new ScheduleNotFound({ id })
        },
        persistence("ScheduleRepo.delete")
      ),
      deleteForScript: Effect.fn("ScheduleRepo.deleteForScript")(
        function*(scriptId) {
          yield* sql`DELETE FROM schedules WHERE script_id = ${scriptId}`
          yield* sql`
            UPDATE schedules SET dead_letter_script_id = NULL, updated_at = now()
            WHERE dead_letter_script_id = ${scriptId}`
        },
        persistence("ScheduleRepo.deleteForScript")
      ),
      due: Effect.fn("ScheduleRepo.due")(
        function*(limit) {
          const { due, next_due, now } = yield* dueRows(limit)
          return { schedules: due.map(toSchedule), now, nextDueAt: next_due }
        },
        persistence("ScheduleRepo.due")
      ),
      advance: Effect.fn("ScheduleRepo.advance")(
        function*(id, expected, { next_run_at, skipped, fired }) {
          const lastRun = fired === null ? sql`` : sql`, last_execution_id = ${fired.execution_id},
            last_scheduled_at = ${fired.scheduled_at}::timestamptz, last_fired_at = ${fired.fired_at}::timestamptz`
          const moved = yield* sql`
            UPDATE schedules SET next_run_at = ${next_run_at}::timestamptz, skipped_ticks = skipped_ticks + ${skipped}
              ${lastRun}
            WHERE id = ${id} AND next_run_at = ${expected}::timestamptz AND enabled
            RETURNING id`
          return moved.length > 0
        },
        persistence("ScheduleRepo.advance")
      ),
      recordRun: Effect.fn("ScheduleRepo.recordRun")(
        function*(id, fired) {
          const recorded = yield* byUuid(id, (id) =>
            sql`
              UPDATE schedules SET last_execution_id = ${fired.execution_id},
                last_scheduled_at = ${fired.scheduled_at}::timestamptz, last_fired_at = ${fired.fired_at}::timestamptz
              WHERE id = ${id}
              RETURNING id`, [])
          return recorded.length > 0
        },
        persistence("ScheduleRepo.recordRun")
      )
    })
  })
)
