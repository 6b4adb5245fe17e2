import { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { PersistenceError } from "../domain/Errors.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

/** Every SQL failure a repository does not handle itself becomes one `PersistenceError` naming the operation. */
export const persistence =
  (operation: string) =>
  <A, E, R>(effect: Effect.Effect<A, E | SqlError, R>): Effect.Effect<A, Exclude<E, SqlError> | PersistenceError, R> =>
    Effect.catchIf(
      effect,
      (error): error is SqlError => (error as { _tag?: string })?._tag === "SqlError",
      (cause) => Effect.fail(new PersistenceError({ operation, cause }))
    ) as Effect.Effect<A, Exclude<E, SqlError> | PersistenceError, R>

/** Whether a SQL failure is a unique-constraint violation (a name taken, an id reused). */
export const isUniqueViolation = (error: SqlError) => error.reason._tag === "UniqueViolation"

/** PostgreSQL returns timestamptz as a Date (or text, depending on the codec): one ISO form for the domain. */
export const isoTimestamp = (value: unknown) => new Date(value as string | Date).toISOString()

/**
 * The rows of a query keyed by a uuid column. A key that is not a UUID names no row, and asking
 * PostgreSQL would only earn a type error (a 500 where the answer is "not found").
 */
export const rowsByUuid = <A, E, R>(key: string, query: (key: string) => Effect.Effect<ReadonlyArray<A>, E, R>) =>
  UUID_PATTERN.test(key) ? query(key) : Effect.succeed<ReadonlyArray<A>>([])

/** A json/jsonb value: parsed by the driver from a column, but still text on some paths (inside `json_agg`). */
export const jsonValue = <A>(value: unknown): A => (typeof value === "string" ? JSON.parse(value) : value) as A
