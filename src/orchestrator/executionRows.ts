import { Schema } from "effect"
import type { SqlClient, Statement } from "effect/sql"
import { Timestamp } from "../db/persistence.ts"
import { storableJson } from "../db/storableJson.ts"
import { ExecutionAttempt, ExecutionRecord } from "../domain/Execution.ts"

/** The `executions` columns, as written and as the domain record names them. */
export const EXECUTION_COLUMNS =
  "id, app_id, script_id, script_name, script_version, invocation, status, status_code, started_at, duration_ms, logs, logs_truncated, error, accepted_at, attempts, result, root_execution_id, parent_execution_id, trigger_depth, trigger_id, kv_reads, kv_writes, kv_key"

/** The columns as read: a record from before migration 0010 has no root, and is its own. */
export const SELECTED_EXECUTION_COLUMNS = EXECUTION_COLUMNS.replace(
  "root_execution_id",
  "coalesce(root_execution_id, id) AS root_execution_id"
)

/** An `executions` row as `SELECTED_EXECUTION_COLUMNS` selects it: decodes to the domain's record. */
export const ExecutionRow = Schema.Struct({
  ...ExecutionRecord.fields,
  started_at: Timestamp,
  accepted_at: Schema.NullOr(Timestamp)
})

/** A node of the causal tree, as `ExecutionLogSql.descendants` selects it. */
export const ExecutionNodeRow = Schema.Struct({
  id: ExecutionRecord.fields.id,
  app_id: Schema.String,
  parent_execution_id: Schema.NullOr(Schema.String),
  script_id: ExecutionRecord.fields.script_id,
  script_name: Schema.String,
  invocation: ExecutionRecord.fields.invocation,
  status: ExecutionRecord.fields.status,
  trigger_id: Schema.NullOr(Schema.String),
  trigger_depth: Schema.Int,
  started_at: Timestamp,
  duration_ms: Schema.Number
})

/**
 * Inserts execution records. One JSON parameter for the whole batch: far cheaper to build than a
 * dozen placeholders a row, for us and for PostgreSQL (jsonb_populate_recordset maps keys onto
 * columns by name). `replace`: an async execution's final record replaces whatever was there.
 * `onlyIf` (a condition on a CTE the caller puts in front) makes the insert conditional, so an
 * outbox row's removal and its record are one statement; the inserted ids are returned.
 */
export const insertExecutions = (
  sql: SqlClient.SqlClient,
  records: ReadonlyArray<ExecutionRecord>,
  options: { readonly onConflict: "keep" | "replace"; readonly onlyIf?: Statement.Fragment }
) =>
  sql`INSERT INTO executions
    SELECT * FROM jsonb_populate_recordset(NULL::executions, ${storableJson(records)}::jsonb)
    ${options.onlyIf === undefined ? sql`` : sql`WHERE ${options.onlyIf}`}
    ${
    options.onConflict === "keep"
      ? sql`ON CONFLICT (id) DO NOTHING`
      : sql`ON CONFLICT (id) DO UPDATE SET ${sql.literal(REPLACE_COLUMNS)}`
  }
    ${options.onlyIf === undefined ? sql`` : sql`RETURNING id`}`

const REPLACE_COLUMNS = EXECUTION_COLUMNS.split(", ").filter((c) => c !== "id").map((c) => `${c} = excluded.${c}`).join(
  ", "
)

/** An `execution_attempts` row, as `ATTEMPT_COLUMNS` selects it: decodes to the domain's attempt. */
export const AttemptRow = Schema.Struct({ ...ExecutionAttempt.fields, started_at: Timestamp })

export const ATTEMPT_COLUMNS = "attempt, status, status_code, error, started_at, duration_ms, logs, logs_truncated"

/**
 * Inserts an execution's retried attempt (one JSON parameter, as `insertExecutions`). `onlyIf` (a
 * condition on a CTE the caller puts in front) makes it conditional: the outbox writes the attempt
 * in the statement that puts its row back, and only if it did. The same attempt written twice is
 * kept once.
 */
export const insertAttempt = (
  sql: SqlClient.SqlClient,
  executionId: string,
  attempt: ExecutionAttempt,
  options: { readonly onlyIf?: Statement.Fragment } = {}
) =>
  sql`INSERT INTO execution_attempts
    SELECT * FROM jsonb_populate_record(NULL::execution_attempts, ${
    storableJson({ execution_id: executionId, ...attempt })
  }::jsonb)
    ${options.onlyIf === undefined ? sql`` : sql`WHERE ${options.onlyIf}`}
    ON CONFLICT (execution_id, attempt) DO NOTHING`
