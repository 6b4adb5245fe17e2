import { Layer } from "effect"
import { Transactions } from "../domain/Transactions.ts"

/**
 * Memory storage runs the writes as they come: its repositories cannot fail halfway on their own
 * (a test that injects a fault between two writes runs on PostgreSQL).
 */
export const layer = Layer.succeed(Transactions, Transactions.of({ atomically: (effect) => effect }))
