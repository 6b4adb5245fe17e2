import type { ExecutionRecord } from "../../src/domain/Execution.ts"
import type { ExecutionId, ScriptId } from "../../src/domain/Ids.ts"
import { uuidv7 } from "../../src/domain/uuidv7.ts"

/**
 * An execution record for tests: a succeeded sync run of script `s` in the default app, started
 * now, its own root (`root_execution_id` is the generated id, whatever `overrides` sets as `id`).
 */
export const executionRecord = (overrides: Partial<ExecutionRecord> = {}): ExecutionRecord => {
  const id = uuidv7() as ExecutionId
  return {
    id,
    app_id: "00000000-0000-4000-8000-000000000000",
    script_id: "00000000-0000-4000-8000-0000000000cc" as ScriptId,
    script_name: "s",
    script_version: 1,
    invocation: "http",
    status: "succeeded",
    status_code: 200,
    started_at: new Date().toISOString(),
    duration_ms: 1,
    logs: [],
    logs_truncated: false,
    error: null,
    accepted_at: null,
    attempts: 1,
    result: null,
    root_execution_id: id,
    parent_execution_id: null,
    trigger_depth: 0,
    trigger_id: null,
    kv_reads: 0,
    kv_writes: 0,
    kv_key: null,
    ...overrides
  }
}
