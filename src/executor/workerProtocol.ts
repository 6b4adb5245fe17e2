import type { ExecRequest } from "../domain/Exec.ts"
import type { HostReply } from "../domain/HostCall.ts"
import type { EngineResult, ValidationResult } from "./Engine.ts"

/** Host → worker. */
export type WorkerRequest =
  | { readonly id: number; readonly kind: "run"; readonly request: ExecRequest }
  | { readonly id: number; readonly kind: "validate"; readonly source: string }
  /** The answer to host call number `call`. */
  | { readonly kind: "answer"; readonly call: number; readonly reply: HostReply }

/** Worker → host. */
export type WorkerReply =
  | { readonly kind: "ready" }
  | { readonly id: number; readonly kind: "run"; readonly result: EngineResult }
  | { readonly id: number; readonly kind: "validate"; readonly result: ValidationResult }
  /** Job `id`'s script calls the host (`op` with `payload`, JSON text); the host answers `call`. */
  | {
    readonly id: number
    readonly kind: "host"
    readonly call: number
    readonly op: string
    readonly payload: string
  }
