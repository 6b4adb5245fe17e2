import type { ExecRequest } from "../domain/Exec.ts"
import type { EngineResult, ValidationResult } from "./Engine.ts"

/** Host → worker. */
export type WorkerRequest =
  | { readonly id: number; readonly kind: "run"; readonly request: ExecRequest }
  | { readonly id: number; readonly kind: "validate"; readonly source: string }

/** Worker → host. */
export type WorkerReply =
  | { readonly kind: "ready" }
  | { readonly id: number; readonly kind: "run"; readonly result: EngineResult }
  | { readonly id: number; readonly kind: "validate"; readonly result: ValidationResult }
