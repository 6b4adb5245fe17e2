import { Schema } from "effect"
import type { SqlClient, Statement } from "effect/sql"
import { Timestamp } from "../db/persistence.ts"
import { storableJson } from "../db/storableJson.ts"
import { ExecutionRecord } from "../domain/Execution.ts"

/** The `executions` columns, as selected and as the domain record names them. */
export const EXECUTION_COLUMNS =
  "id, app_id, script_id, script_name, script_version, invocation, status, status_code, started_at, duration_ms, logs, logs_truncated, error, accepted_at, attempts, result"

/** An `executions` row as `EXECUTION_COLUMNS` selects it: decodes to the domain's record. */
export const ExecutionRow = Schema.Struct({
  ...ExecutionRecord.fields,
  started_at: Timestamp,
  accepted_at: Schema.NullOr(Timestamp)
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
