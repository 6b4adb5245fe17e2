import { Context, type Effect } from "effect"
import type { PersistenceError } from "./Errors.ts"

/**
 * Several storage writes as one: all of them happen or none do (on PostgreSQL, one transaction;
 * every repository call inside runs on its connection). A service method that writes more than
 * once runs its writes in `atomically`, and publishes its cache changes only after it returns.
 */
export class Transactions extends Context.Service<Transactions, {
  readonly atomically: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PersistenceError, R>
}>()("picloud/domain/Transactions") {}
