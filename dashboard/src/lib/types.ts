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
  readonly root_execution_id?: string
  readonly parent_execution_id?: string | null
  readonly trigger_id?: string | null
  readonly trigger_depth?: number
  /** The key whose write started a `kv` run. */
  readonly kv_key?: string | null
}

export interface App {
  readonly id: string
  readonly name: string
  readonly created_at: string
}

export interface RetryPolicy {
  readonly backoff: string
  readonly initial_delay_ms: number
  readonly max_delay_ms: number
  readonly max_attempts: number
  readonly jitter: boolean
}

export interface Route {
  readonly id: string
  readonly app_id: string
  readonly method: string
  readonly path: string
  readonly script_id: string
  readonly dispatch_mode: "sync" | "async"
  readonly auth: "none" | "token"
  readonly created_at: string
}

export interface SecretInfo {
  readonly name: string
  readonly created_at: string
  readonly updated_at: string
}

export interface User {
  readonly id: string
  readonly username: string
  readonly role: string
  readonly apps: ReadonlyArray<string>
  readonly created_at: string
}

export interface ApiToken {
  readonly id: string
  readonly user_id: string
  readonly name: string
  readonly created_at: string
  readonly last_used_at: string | null
  readonly expires_at: string | null
}

export interface KvItem {
  readonly key: string
  readonly value: unknown
  readonly version: number
  readonly updated_at: string
}

export interface Trigger {
  readonly id: string
  readonly app_id: string
  readonly script_id: string
  readonly key_pattern: string
  readonly ops: ReadonlyArray<"set" | "delete">
  readonly retry: RetryPolicy
  readonly dead_letter_script_id: string | null
  readonly enabled: boolean
  readonly created_at: string
  readonly updated_at: string
}

export interface ScheduleFiring {
  readonly execution_id: string
  readonly scheduled_at: string
  readonly fired_at: string
}

export interface Schedule {
  readonly id: string
  readonly app_id: string
  readonly name: string
  readonly cron: string
  readonly timezone: string
  readonly script_id: string
  readonly missed: "skip" | "once" | "all"
  readonly overlap: "allow" | "skip"
  readonly enabled: boolean
  readonly next_run_at: string | null
  readonly skipped_ticks: number
  readonly last_run: ScheduleFiring | null
  readonly created_at: string
  readonly updated_at: string
}

export interface ScheduleDetail extends Omit<Schedule, "last_run"> {
  readonly last_run: (ScheduleFiring & { readonly status: string; readonly lag_ms: number }) | null
  readonly next_runs: ReadonlyArray<string>
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
