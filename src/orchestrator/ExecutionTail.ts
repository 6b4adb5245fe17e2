import { Cause, Clock, Context, Effect, Layer, Queue, type Scope, Stream } from "effect"
import type { PersistenceError } from "../domain/Errors.ts"
import type { ExecutionRecord, ExecutionStatus } from "../domain/Execution.ts"
import { ExecutionLog } from "../domain/ExecutionLog.ts"

/** Records kept for `since` replays: at most this many, this many bytes (roughly), this old. */
const RECENT_COUNT = 1_000
const RECENT_BYTES = 8 * 1024 * 1024
export const REPLAY_WINDOW_MS = 10 * 60_000
/** What one tail may have waiting for its reader before it is dropped (a lone larger record still goes). */
export const TAIL_BUFFER_COUNT = 256
const TAIL_BUFFER_BYTES = 4 * 1024 * 1024

/** The records a tail follows: of these apps (`undefined`: every app), this script, this status. */
export interface TailFilter {
  readonly appIds: ReadonlyArray<string> | undefined
  readonly scriptId: string | undefined
  readonly status: ExecutionStatus | undefined
}

/** A finished execution's record as tails send it; its JSON is made once, for every tail that sends it. */
export interface TailRecord {
  readonly record: ExecutionRecord
  /** About the bytes it holds (logs, result): what the bounds count. */
  readonly size: number
  /** When it was published (epoch ms). */
  readonly at: number
  json?: string
}

/** Why a tail ended: its reader fell behind (`dropped`), or the server is shutting down. */
export type TailEnd = "dropped" | "shutdown"

export type TailEvent =
  | { readonly _tag: "Record"; readonly id: string; readonly json: string }
  | { readonly _tag: "End"; readonly reason: TailEnd }

const sizeOf = (record: ExecutionRecord) => {
  let size = 1024 + (record.result?.body?.length ?? 0)
  for (const entry of record.logs) size += entry.message.length + 32
  return size
}

const matches = (filter: TailFilter, record: ExecutionRecord) =>
  (filter.appIds === undefined || filter.appIds.includes(record.app_id)) &&
  (filter.scriptId === undefined || filter.scriptId === record.script_id) &&
  (filter.status === undefined || filter.status === record.status)

const recordEvent = (entry: TailRecord): TailEvent => ({
  _tag: "Record",
  id: entry.record.id,
  json: entry.json ??= JSON.stringify(entry.record)
})

interface Tail {
  readonly filter: TailFilter
  readonly queue: Queue.Queue<TailRecord, TailEnd | Cause.Done>
  /** The sizes of the records waiting in `queue`. */
  bytes: number
}

/**
 * The live tail of executions (docs/ARCHITECTURE.md §4, §5): every finished execution's record is
 * published here once it is kept (a sync one once queued for the log, an async one once its
 * outbox row's transaction committed), and each open tail gets the ones its filter matches. In
 * one process: a cluster's roles wrap this layer (`ClusterDelivery.tailAnnouncing`,
 * `tailFollowing`) so that the manager's tails get every node's records too.
 *
 * Memory stays bounded: a tail holds at most `TAIL_BUFFER_COUNT` records (and about 4 MiB) its
 * reader has not taken; one more and it is dropped (its reader gets what it holds, then the end).
 * Nothing runs between publishes: no timer, no fiber.
 */
export class ExecutionTail extends Context.Service<ExecutionTail, {
  readonly publish: (record: ExecutionRecord) => Effect.Effect<void>
  /**
   * The records that match `filter` from now on, ending with the reason the tail ended. With
   * `since` (an execution id), first those published after it: exactly those, from the records
   * kept in memory, when `since` is one of them; otherwise from the execution log, those whose id
   * (UUIDv7: start time) is after it. At most 1,000, of the last 10 minutes. The tail is open
   * before the replay is read, and a record is never sent twice, so none is missed in between.
   */
  readonly follow: (
    filter: TailFilter,
    since: string | undefined
  ) => Effect.Effect<Stream.Stream<TailEvent>, PersistenceError, Scope.Scope>
  /** Ends every tail (shutdown): each sends what it holds, then `shutdown`. Later tails end at once. */
  readonly end: Effect.Effect<void>
  /** Tails open now. */
  readonly open: Effect.Effect<number>
}>()("picloud/orchestrator/ExecutionTail") {
  static readonly layer = Layer.effect(
    ExecutionTail,
    Effect.gen(function*() {
      const log = yield* ExecutionLog
      /** What was published lately, oldest first: the `since` replays. */
      const recent: Array<TailRecord> = []
      let recentBytes = 0
      const tails = new Set<Tail>()
      let ended = false

      const close = (tail: Tail, reason: TailEnd) => {
        tails.delete(tail)
        Queue.failCauseUnsafe(tail.queue, Cause.fail(reason))
      }

      const forget = (now: number) => {
        while (
          recent.length > RECENT_COUNT || recentBytes > RECENT_BYTES ||
          (recent.length > 0 && now - recent[0]!.at > REPLAY_WINDOW_MS)
        ) {
          recentBytes -= recent.shift()!.size
        }
      }

      const publish = (record: ExecutionRecord) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const entry: TailRecord = { record, size: sizeOf(record), at: now }
          recent.push(entry)
          recentBytes += entry.size
          forget(now)
          for (const tail of tails) {
            if (!matches(tail.filter, record)) continue
            const full = tail.bytes + entry.size > TAIL_BUFFER_BYTES && Queue.sizeUnsafe(tail.queue) > 0
            if (full || !Queue.offerUnsafe(tail.queue, entry)) close(tail, "dropped")
            else tail.bytes += entry.size
          }
        })

      /** The kept records published after `since`, or `undefined` when it is not one of them. */
      const recentAfter = (since: string) => {
        const at = recent.findLastIndex((entry) => entry.record.id === since)
        return at === -1 ? undefined : recent.slice(at + 1)
      }

      /** Records of the log after `since` (by id), of the replay window, oldest first. */
      const fromLog = (filter: TailFilter, since: string, now: number) =>
        log.list({ appIds: filter.appIds, scriptId: filter.scriptId as ExecutionRecord["script_id"], limit: 1_000 })
          .pipe(
            Effect.catchTag("InvalidCursor", () => Effect.succeed({ items: [], next_cursor: null })),
            Effect.map(({ items }) =>
              items
                .filter((record) =>
                  record.id > since && matches(filter, record) &&
                  Date.parse(record.started_at) >= now - REPLAY_WINDOW_MS
                )
                .reverse()
                .map((record): TailRecord => ({ record, size: sizeOf(record), at: now }))
            )
          )

      const follow = Effect.fn("ExecutionTail.follow")(function*(filter: TailFilter, since: string | undefined) {
        const queue = yield* Queue.dropping<TailRecord, TailEnd | Cause.Done>(TAIL_BUFFER_COUNT)
        const tail: Tail = { filter, queue, bytes: 0 }
        const after = since?.toLowerCase()
        // Opening the tail and reading the kept records are one step: nothing is published between.
        const kept = yield* Effect.acquireRelease(
          Effect.sync(() => {
            if (ended) Queue.failCauseUnsafe(queue, Cause.fail("shutdown"))
            else tails.add(tail)
            return after === undefined ? [] : recentAfter(after)
          }),
          () => Effect.sync(() => tails.delete(tail))
        )
        const replay = kept !== undefined
          ? kept.filter((entry) => matches(filter, entry.record))
          : yield* fromLog(filter, after!, yield* Clock.currentTimeMillis)
        // Read from the log after the tail opened: what was published meanwhile may be in both.
        const replayed = new Set(kept === undefined ? replay.map((entry) => entry.record.id) : [])
        // One record at a time: taken in batches, a reader's whole backlog would leave the queue
        // (and its bounds) at once, to wait downstream for the socket.
        const live = Stream.fromEffectRepeat(Queue.take(queue)).pipe(
          Stream.tap((entry) => Effect.sync(() => (tail.bytes -= entry.size))),
          Stream.filter((entry) => !replayed.has(entry.record.id)),
          Stream.map(recordEvent),
          Stream.catch((reason) => Stream.fromArray<TailEvent>([{ _tag: "End", reason }]))
        )
        return Stream.concat(Stream.fromArray(replay.map(recordEvent)), live)
      })

      const end = Effect.sync(() => {
        ended = true
        for (const tail of tails) close(tail, "shutdown")
      })

      yield* Effect.addFinalizer(() => end)
      return ExecutionTail.of({ publish, follow, end, open: Effect.sync(() => tails.size) })
    })
  )
}
