import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import { errorBody, type ErrorDetail } from "../../domain/api/ApiError.ts"
import type { PersistenceError } from "../../domain/Errors.ts"

/** The data plane's JSON error body (docs/ARCHITECTURE.md §7). */
export const errorResponse = (
  status: number,
  detail: ErrorDetail,
  headers?: Record<string, string>
) => HttpServerResponse.jsonUnsafe(errorBody(detail), { status, ...(headers ? { headers } : {}) })

/** A storage fault: logged with its cause, answered as a 500 that reveals nothing. Never the client's fault. */
export const storageFaultResponse = (error: PersistenceError) =>
  Effect.logError(`${error.operation} failed`, error.cause).pipe(
    Effect.as(errorResponse(500, { code: "internal", message: "internal error" }))
  )
