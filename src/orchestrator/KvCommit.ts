import { Context, Effect, Layer } from "effect"
import type { PersistenceError } from "../domain/Errors.ts"
import { type KvChange, KvStore, type KvWrite, type KvWriteError } from "../domain/KvStore.ts"
import { Transactions } from "../domain/Transactions.ts"

/**
 * Commits a batch of KV writes (an execution's, or one admin write): all of them or none, in one
 * transaction, which also takes whatever else the caller runs inside it (an async execution's
 * outbox completion). Every write to the store goes through here.
 */
export class KvCommit extends Context.Service<KvCommit, {
  readonly commit: (
    appId: string,
    writes: ReadonlyArray<KvWrite>
  ) => Effect.Effect<ReadonlyArray<KvChange>, KvWriteError | PersistenceError>
}>()("picloud/orchestrator/KvCommit") {
  static readonly layer = Layer.effect(
    KvCommit,
    Effect.gen(function*() {
      const store = yield* KvStore
      const transactions = yield* Transactions
      return KvCommit.of({
        commit: Effect.fn("KvCommit.commit")(function*(appId, writes) {
          if (writes.length === 0) return []
          return yield* transactions.atomically(store.commit(appId, writes))
        })
      })
    })
  )
}
