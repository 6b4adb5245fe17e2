import type { ExecRequest } from "../../../src/domain/Exec.ts"

/** An execution request for `source`, with an HTTP request unless `request: null` is given. */
export const execRequest = (source: string, overrides: Partial<ExecRequest> = {}): ExecRequest => ({
  executionId: "00000000-0000-7000-8000-000000000001",
  rootExecutionId: "00000000-0000-7000-8000-000000000001",
  triggerDepth: 0,
  invocation: "http",
  script: { id: "00000000-0000-4000-8000-0000000000aa", name: "test", version: 3, source },
  app: { id: "default", name: "default" },
  principal: null,
  event: null,
  env: {},
  request: { method: "POST", path: "/api/execute/test", params: {}, query: { q: "1" }, headers: { "x-a": "b" }, body: "{\"n\":2}" },
  timeoutMs: 1000,
  ...overrides
})
