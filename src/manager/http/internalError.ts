import { Effect } from "effect"
import { apiError, InternalError } from "../../domain/api/ApiError.ts"
import type { PersistenceError } from "../../domain/Errors.ts"

/** A storage failure is a platform fault: logged with its cause, answered as a bare 500. */
export const internalError = (error: PersistenceError) =>
  Effect.logError(`${error.operation} failed`, error.cause).pipe(
    Effect.andThen(Effect.fail(apiError(InternalError, "internal", "internal error")))
  )
