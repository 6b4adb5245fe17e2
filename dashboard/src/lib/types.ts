/** The admin API's shapes the dashboard reads (src/domain/Script.ts, Execution.ts: the API is the contract). */
export interface Script {
  readonly id: string
  readonly app_id: string
  readonly name: string
  readonly version: number
  readonly timeout_seconds: number
  readonly created_at: string
  readonly updated_at: string
  readonly source?: string
}

export interface LogEntry {
  readonly level: string
  readonly message: string
  readonly at: number
}

export interface Execution {
  readonly id: string
  readonly script_id: string
  readonly script_name: string
  readonly script_version: number
  readonly invocation: string
  readonly status: string
  readonly status_code: number | null
  readonly started_at: string
  readonly duration_ms: number
  readonly logs: ReadonlyArray<LogEntry>
  readonly logs_truncated: boolean
  readonly error: { readonly code: string; readonly message: string } | null
  readonly attempts: number | ReadonlyArray<unknown>
}

/** `POST /scripts/{id}/test-run`'s answer: what a caller would have got, the logs and the duration. */
export interface TestRunResult {
  readonly execution_id: string
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly error: { readonly code: string; readonly message: string } | null
  readonly logs: ReadonlyArray<LogEntry>
  readonly logs_truncated: boolean
  readonly duration_ms: number
}

export interface App {
  readonly id: string
  readonly name: string
  readonly created_at: string
}

/** A dead letter as `GET /api/admin/dead-letters` lists it (src/domain/DeadLetter.ts). */
export interface DeadLetter {
  readonly id: string
  readonly app_id: string
  readonly script_id: string
  readonly invocation: string
  readonly request: {
    readonly method: string
    readonly path: string
    readonly query: Readonly<Record<string, string>>
    readonly headers: Readonly<Record<string, string>>
    readonly body: string
  } | null
  readonly event: unknown
  readonly attempts: number
  readonly error: { readonly code: string; readonly message: string }
  readonly accepted_at: string
  readonly dead_lettered_at: string
  readonly replayed_as: string | null
  readonly resolution: "pending" | "handled" | "handler_failed" | null
  readonly resolution_error: { readonly code: string; readonly message: string } | null
}

/** One id's outcome in `POST /api/admin/dead-letters/replay`. */
export type BulkReplayResult =
  | { readonly id: string; readonly outcome: "accepted"; readonly execution_id: string; readonly accepted_at: string }
  | { readonly id: string; readonly outcome: "not_found" }
