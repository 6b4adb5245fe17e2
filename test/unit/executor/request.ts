import { createHash } from "node:crypto"
import type { ExecRequest } from "../../../src/domain/Exec.ts"

/** A script id per source, as the platform would have: one warm sandbox per script version. */
const scriptId = (source: string) => {
  const hex = createHash("sha256").update(source).digest("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** An execution request for `source`, with an HTTP request unless `request: null` is given. */
export const execRequest = (source: string, overrides: Partial<ExecRequest> = {}): ExecRequest => ({
  executionId: "00000000-0000-7000-8000-000000000001",
  rootExecutionId: "00000000-0000-7000-8000-000000000001",
  triggerDepth: 0,
  invocation: "http",
  script: { id: scriptId(source), name: "test", version: 3, source },
  app: { id: "default", name: "default" },
  principal: null,
  event: null,
  env: {},
  request: {
    method: "POST",
    path: "/api/execute/test",
    params: {},
    query: { q: "1" },
    headers: { "x-a": "b" },
    body: "{\"n\":2}"
  },
  timeoutMs: 1000,
  ...overrides
})
