import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { Transactions } from "../domain/Transactions.ts"
import { persistence } from "./persistence.ts"

/** One PostgreSQL transaction (a savepoint when nested); any failure inside rolls it back. */
export const layer = Layer.effect(
  Transactions,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return Transactions.of({
      atomically: (effect) => sql.withTransaction(effect).pipe(persistence("Transactions.atomically"))
    })
  })
)
