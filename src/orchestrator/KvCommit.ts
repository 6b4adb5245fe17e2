import { Clock, Context, Effect, Layer, Option } from "effect"
import type { PersistenceError } from "../domain/Errors.ts"
import type { Lineage } from "../domain/Execution.ts"
import type { ExecutionId } from "../domain/Ids.ts"
import { type KvChange, KvStore, type KvWrite, type KvWriteError } from "../domain/KvStore.ts"
import { leaseSeconds, type NewJob, OutboxRepo } from "../domain/OutboxRepo.ts"
import { Transactions } from "../domain/Transactions.ts"
import type { Trigger } from "../domain/Trigger.ts"
import { uuidv7 } from "../domain/uuidv7.ts"
import { PlatformMetrics } from "./PlatformMetrics.ts"
import { ScriptCache } from "./ScriptCache.ts"
import { TriggerTable } from "./TriggerTable.ts"

/** The execution whose writes these are (its runs are the triggered runs' parent), or `null` for an admin's write. */
export type KvWriter = { readonly executionId: string; readonly lineage: Lineage } | null

/**
 * Commits a batch of KV writes (an execution's, or one admin write) with the trigger rows they
 * cause: all of them or none, in one transaction, which also takes whatever else the caller runs
 * inside it (an async execution's outbox completion). Every write to the store goes through here,
 * so admin writes fire triggers exactly as scripts' do.
 *
 * Fan-out: for each write that changed something (a delete of an absent key did not), one `kv`
 * outbox row per enabled trigger of the app whose pattern and ops match, running as the trigger's
 * registrant, one level deeper than the writer, in the writer's causal tree. The matching triggers
 * come from the in-memory `TriggerTable`, asked before the transaction opens (its first load for an
 * app takes a connection of its own).
 */
export class KvCommit extends Context.Service<KvCommit, {
  readonly commit: (
    appId: string,
    writes: ReadonlyArray<KvWrite>,
    writer: KvWriter
  ) => Effect.Effect<ReadonlyArray<KvChange>, KvWriteError | PersistenceError>
  /**
   * `commit` in two steps, for a caller that commits inside a transaction of its own (the
   * dispatcher, with an outbox completion): the matching is done now, before that transaction
   * opens, and the effect returned writes the batch and its trigger rows, joining it. Matching may
   * read (an app's triggers on their first use, a script not cached) on connections of its own; a
   * transaction waiting for one holds a pooled connection meanwhile, and with every connection so
   * held the pool would deadlock (a restart's burst of catch-up runs did).
   */
  readonly prepare: (
    appId: string,
    writes: ReadonlyArray<KvWrite>,
    writer: KvWriter
  ) => Effect.Effect<Effect.Effect<ReadonlyArray<KvChange>, KvWriteError | PersistenceError>, PersistenceError>
}>()("picloud/orchestrator/KvCommit") {
  static readonly layer = Layer.effect(
    KvCommit,
    Effect.gen(function*() {
      const store = yield* KvStore
      const transactions = yield* Transactions
      const triggers = yield* TriggerTable
      const outbox = yield* OutboxRepo
      const scripts = yield* ScriptCache
      const metrics = yield* PlatformMetrics

      /** Each write's matching triggers with the lease their script needs, in the writes' order. */
      const matchAll = (appId: string, writes: ReadonlyArray<KvWrite>) =>
        Effect.forEach(writes, (write) =>
          triggers.matching(appId, write.key, write.op).pipe(
            Effect.flatMap((matched) =>
              Effect.forEach(matched, (trigger) =>
                scripts.resolve(appId, trigger.script_id).pipe(
                  // A script deleted meanwhile takes its trigger with it: nothing to run.
                  Effect.map(Option.map((target) => ({ trigger, lease: leaseSeconds(target.script.timeout_seconds) })))
                ))
            ),
            Effect.map((found) => found.flatMap((x) => Option.isSome(x) ? [x.value] : []))
          ))

      const rowsFor = (
        appId: string,
        changes: ReadonlyArray<KvChange>,
        matches: ReadonlyArray<ReadonlyArray<{ readonly trigger: Trigger; readonly lease: number }>>,
        writer: KvWriter,
        now: number
      ): ReadonlyArray<NewJob> => {
        const at = new Date(now).toISOString()
        return changes.flatMap((change, i) => {
          if (change.op === "delete" && change.old_version === 0) return []
          return matches[i]!.map(({ lease, trigger }): NewJob => {
            const id = uuidv7() as ExecutionId
            return {
              id,
              app_id: appId,
              script_id: trigger.script_id,
              kind: "kv",
              payload: {
                event: {
                  op: change.op,
                  key: change.key,
                  value: change.value,
                  old_value: change.old_value,
                  version: change.version,
                  app: appId,
                  trigger_id: trigger.id,
                  at
                },
                registrant_user_id: trigger.registrant_user_id
              },
              retry: trigger.retry,
              lease_seconds: lease,
              accepted_at: at,
              lineage: writer === null
                ? { root_execution_id: id, parent_execution_id: null, trigger_depth: 1, trigger_id: trigger.id }
                : {
                  root_execution_id: writer.lineage.root_execution_id,
                  parent_execution_id: writer.executionId,
                  trigger_depth: writer.lineage.trigger_depth + 1,
                  trigger_id: trigger.id
                },
              dead_letter_script_id: trigger.dead_letter_script_id
            }
          })
        })
      }

      const prepare = (appId: string, writes: ReadonlyArray<KvWrite>, writer: KvWriter) =>
        Effect.gen(function*() {
          if (writes.length === 0) return Effect.succeed<ReadonlyArray<KvChange>>([])
          const matches = yield* matchAll(appId, writes)
          // Nothing to fan out: the store's commit is atomic by itself (a lone write, one statement).
          if (matches.every((matched) => matched.length === 0)) return store.commit(appId, writes)
          return Effect.gen(function*() {
            let fired = 0
            const changes = yield* transactions.atomically(Effect.gen(function*() {
              const changes = yield* store.commit(appId, writes)
              const rows = rowsFor(appId, changes, matches, writer, yield* Clock.currentTimeMillis)
              if (rows.length > 0) yield* outbox.enqueueAll(rows)
              fired = rows.length
              return changes
            }))
            // Counted once committed (or joined to the caller's transaction), outside it.
            if (fired > 0) yield* metrics.triggered(appId, fired)
            return changes
          })
        })

      return KvCommit.of({
        prepare,
        commit: Effect.fn("KvCommit.commit")(function*(appId, writes, writer) {
          return yield* yield* prepare(appId, writes, writer)
        })
      })
    })
  )
}
