import { Array as Arr, type Context, Effect, Latch, Layer } from "effect"
import { NotifyBus } from "../db/NotifyBus.ts"
import { type ChangeFeed, EVERYTHING, makeLocalFeed } from "../domain/ChangeFeed.ts"
import type { ExecutionRecord } from "../domain/Execution.ts"
import { ExecutionLog } from "../domain/ExecutionLog.ts"
import { IdentityChanges } from "../domain/IdentityChanges.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { SecretChanges } from "../domain/SecretChanges.ts"
import { TriggerChanges } from "../domain/TriggerChanges.ts"
import { ExecutionTail } from "../orchestrator/ExecutionTail.ts"
import * as InboxResolverPg from "../orchestrator/InboxResolverPg.ts"

/**
 * A change feed shared by every process on the database: `publish` runs this process's listeners
 * (so the caller sees the change once it returns, as in one process) and then tells the others by
 * NOTIFY, whose listeners run when it arrives (well within a second).
 */
const feed = <I>(tag: Context.Key<I, ChangeFeed<string>>, kind: string) =>
  Layer.effect(
    tag,
    Effect.gen(function*() {
      const bus = yield* NotifyBus
      const local = makeLocalFeed<string>()
      yield* bus.subscribe(kind, local.publish)
      // Back from a lost LISTEN: whatever changed meanwhile is unknown, so everything did.
      yield* bus.onGap(local.publish(EVERYTHING))
      return {
        publish: (id: string) => local.publish(id).pipe(Effect.andThen(bus.publish(kind, id))),
        listen: local.listen
      } satisfies ChangeFeed<string>
    })
  )

/**
 * `Platform.LocalDelivery` for the processes of a cluster: the same change feeds and inbox over
 * PostgreSQL LISTEN/NOTIFY, so a change made on the manager (a script, route, trigger, secret,
 * user or token) reaches every orchestrator's caches, and a `?wait` on one node is answered by a
 * dispatch on another. Needs the `PgClient`.
 */
export const layer = Layer.mergeAll(
  feed(ScriptChanges, "script"),
  feed(RouteChanges, "route"),
  feed(TriggerChanges, "trigger"),
  feed(SecretChanges, "secret"),
  feed(IdentityChanges, "identity"),
  InboxResolverPg.layer
).pipe(Layer.provideMerge(NotifyBus.layer))

/** The notes' kind that carries finished executions' ids. */
export const TAIL_KIND = "tail"
/** Ids per note: 37 bytes each, well under PostgreSQL's 8000-byte NOTIFY payload. */
export const IDS_PER_NOTE = 100
/** Announced records read in one query. */
const READ_BATCH = 500
/** Ids kept to send, or to read, while the database is away; past this the oldest are dropped. */
const MAX_WAITING_IDS = 10_000
const RETRY_AFTER_FAILURE = "1 second"

const bounded = (ids: Array<string>, what: string) =>
  ids.length <= MAX_WAITING_IDS
    ? Effect.void
    : Effect.logWarning(`live tail: over ${MAX_WAITING_IDS} execution ids ${what}; dropped the oldest`).pipe(
      Effect.andThen(Effect.sync(() => void ids.splice(0, ids.length - MAX_WAITING_IDS)))
    )

/**
 * The live tail of a cluster's process (`ExecutionTail`, in one process, underneath): a record it
 * publishes goes to its own tails at once, as in one process, and its id to the other processes by
 * NOTIFY (ids only, a hundred to a note: never logs, results or credentials). A fiber sends them
 * once the execution log holds them: a sync execution's record is written in batches, so it
 * flushes the log first; ids gathered meanwhile go in the next notes. With `follow`, the process
 * also reads the records the others announce from the log (one query per note or more, `getMany`),
 * in the order announced, and publishes
 * them into its own tails (with their filters, bounds and `since` replays): the manager's, where
 * the admin API's stream reads. Both fibers wait on a latch when there is nothing to do.
 */
const clusterTail = (follow: boolean) =>
  Layer.effect(
    ExecutionTail,
    Effect.gen(function*() {
      const local = yield* ExecutionTail
      const bus = yield* NotifyBus
      const log = yield* ExecutionLog

      const unsent: Array<string> = []
      const toSend = yield* Latch.make(false)
      /** Sends the ids gathered now, once the log holds their records; on failure they wait for the next round. */
      const announce = Effect.gen(function*() {
        const ids = unsent.splice(0)
        if (ids.length === 0) return
        yield* log.flush.pipe(Effect.tapError(() => Effect.sync(() => void unsent.unshift(...ids))))
        for (const chunk of Arr.chunksOf(ids, IDS_PER_NOTE)) yield* bus.publish(TAIL_KIND, chunk.join(","))
      })
      yield* toSend.await.pipe(
        Effect.andThen(toSend.close),
        Effect.andThen(announce),
        Effect.catch((error) =>
          Effect.logWarning("live tail: could not announce finished executions; will retry", error.cause).pipe(
            Effect.andThen(Effect.sleep(RETRY_AFTER_FAILURE)),
            Effect.andThen(toSend.open)
          )
        ),
        Effect.forever,
        Effect.forkScoped
      )
      // At shutdown, what is still unsent goes (the log's own finalizer runs after this one).
      yield* Effect.addFinalizer(() =>
        announce.pipe(Effect.catch((error) => Effect.logWarning("live tail: unsent at shutdown", error.cause)))
      )

      if (follow) {
        const arrived: Array<string> = []
        const toRead = yield* Latch.make(false)
        /** Reads announced records, in one query per `READ_BATCH`, and publishes them in the order announced. */
        const read = (ids: ReadonlyArray<string>) =>
          log.getMany(ids).pipe(
            // A record the log refused (and dropped) is simply not there: nothing to show.
            Effect.flatMap((records) => Effect.forEach(records, local.publish, { discard: true })),
            Effect.catch((error) =>
              Effect.logWarning(`live tail: could not read ${ids.length} finished executions`, error.cause)
            )
          )
        yield* bus.subscribe(TAIL_KIND, (note) =>
          Effect.suspend(() => {
            arrived.push(...note.split(",").filter((id) => UUID_PATTERN.test(id)))
            return bounded(arrived, "to read")
          }).pipe(Effect.andThen(toRead.open), Effect.asVoid))
        yield* toRead.await.pipe(
          Effect.andThen(toRead.close),
          Effect.andThen(
            Effect.suspend(() => Effect.forEach(Arr.chunksOf(arrived.splice(0), READ_BATCH), read, { discard: true }))
          ),
          Effect.forever,
          Effect.forkScoped
        )
      }

      return ExecutionTail.of({
        ...local,
        publish: (record: ExecutionRecord) =>
          local.publish(record).pipe(
            Effect.andThen(Effect.suspend(() => {
              unsent.push(record.id)
              return bounded(unsent, "to announce")
            })),
            Effect.andThen(toSend.open),
            Effect.asVoid
          )
      })
    })
  ).pipe(Layer.provide(ExecutionTail.layer))

/**
 * The live tail of an orchestrator: its records reach its own tails and are announced to the
 * other processes. Needs the `NotifyBus` (from `layer`) and the `ExecutionLog`.
 */
export const tailAnnouncing = clusterTail(false)

/**
 * The live tail of a manager: as `tailAnnouncing`, and the records every other process announces
 * reach its tails too, within about a second of their end.
 */
export const tailFollowing = clusterTail(true)
