import { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { PersistenceError } from "../domain/Errors.ts"

/** Every SQL failure a repository does not handle itself becomes one `PersistenceError` naming the operation. */
export const persistence = (operation: string) =>
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
