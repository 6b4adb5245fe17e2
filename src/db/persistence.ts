import { type Cause, Effect, Schema, SchemaTransformation } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { PersistenceError } from "../domain/Errors.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

/**
 * What can go wrong under a repository: the statement failed, a row did not decode to its schema,
 * or a query that always yields a row (`SqlSchema.findOne`) yielded none.
 */
type StorageFailure = SqlError | Schema.SchemaError | Cause.NoSuchElementError

const STORAGE_FAILURES: ReadonlySet<unknown> = new Set(["SqlError", "SchemaError", "NoSuchElementError"])

/** Every storage failure a repository does not handle itself becomes one `PersistenceError` naming the operation. */
export const persistence = (operation: string) =>
<A, E, R>(
  effect: Effect.Effect<A, E | StorageFailure, R>
): Effect.Effect<A, Exclude<E, StorageFailure> | PersistenceError, R> =>
  Effect.catchIf(
    effect,
    (error): error is StorageFailure => STORAGE_FAILURES.has((error as { _tag?: unknown })?._tag),
    (cause) => Effect.fail(new PersistenceError({ operation, cause }))
  ) as Effect.Effect<A, Exclude<E, StorageFailure> | PersistenceError, R>

/** Whether a SQL failure is a unique-constraint violation (a name taken, an id reused). */
export const isUniqueViolation = (error: SqlError) => error.reason._tag === "UniqueViolation"

/**
 * PostgreSQL refused the statement for the data it carries (SQLSTATE class 22, data exception,
 * or 54, a limit exceeded), rather than being out of reach: sending it again cannot succeed.
 */
export const refusedData = (error: SqlError) => {
  const code = (error.reason.cause as { readonly code?: unknown } | undefined)?.code
  return error.reason._tag === "UnknownError" && typeof code === "string" && /^(22|54)/.test(code)
}

/**
 * A timestamptz column, as the domain holds it: an ISO string. The driver gives a `Date`; inside
 * `json_agg` it is PostgreSQL's text (`2025-01-01T10:00:00.123456+00:00`, microseconds). Either
 * comes out in the same millisecond ISO form.
 */
export const Timestamp = Schema.Union([Schema.Date, Schema.DateFromString]).pipe(
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transform({ decode: (date) => date.toISOString(), encode: (iso) => new Date(iso) })
  )
)

/**
 * `query(key)` for a key that is a UUID, else `none`. A key that is not a UUID names no row, and
 * asking PostgreSQL would only earn a type error (a 500 where the answer is "not found").
 */
export const byUuid = <A, E, R>(key: string, query: (key: string) => Effect.Effect<A, E, R>, none: A) =>
  UUID_PATTERN.test(key) ? query(key) : Effect.succeed(none)
