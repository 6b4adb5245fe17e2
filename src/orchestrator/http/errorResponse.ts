import { HttpServerResponse } from "effect/http"
import type { ErrorDetail } from "../../domain/api/ApiError.ts"

/** The data plane's JSON error body (ARCHITECTURE §6). */
export const errorResponse = (
  status: number,
  detail: ErrorDetail,
  headers?: Record<string, string>
) => HttpServerResponse.jsonUnsafe({ error: detail }, { status, ...(headers ? { headers } : {}) })
