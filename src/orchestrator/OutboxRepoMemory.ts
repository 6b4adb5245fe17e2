import { Clock, Effect, Layer, Option } from "effect"
import * as Settings from "../config/Settings.ts"
import type { DeadLetter, DeadLetterResolution } from "../domain/DeadLetter.ts"
import { IdempotencyKeyReused, OutboxFull } from "../domain/Errors.ts"
import type { ExecutionAttempt, ExecutionErrorInfo, ExecutionRecord } from "../domain/Execution.ts"
import { ExecutionLog } from "../domain/ExecutionLog.ts"
import { type ExecutionId, UUID_PATTERN } from "../domain/Ids.ts"
import {
  type DeadLetterListOptions,
  type HandlerJob,
  IDEMPOTENCY_WINDOW_HOURS,
  type Job,
  type NewJob,
  OutboxRepo,
  requestFingerprint
} from "../domain/OutboxRepo.ts"
import { DispatcherWake } from "./DispatcherWake.ts"
import { deadLetterEvent } from "./jobRecords.ts"

const WINDOW_MS = IDEMPOTENCY_WINDOW_HOURS * 3_600_000

interface Row {
  job: Job
  due: number
  claimedUntil: number | null
}

interface Buried {
  readonly job: Job
  readonly error: ExecutionErrorInfo
  readonly at: string
  replayedAs: string | null
  resolution: DeadLetterResolution | null
  resolutionError: ExecutionErrorInfo | null
}

/**
 * The outbox in memory, on the Effect `Clock` (so `TestClock` drives leases and delays); a new row
 * wakes the dispatcher (`DispatcherWake`). Final records go to the `ExecutionLog`, which in memory
 * stores at once: the same "removed and recorded together" as the SQL layer's single statement.
 */
export const layer = Layer.effect(
  OutboxRepo,
  Effect.gen(function*() {
    const log = yield* ExecutionLog
    const wake = yield* DispatcherWake
    const maxQueued = yield* Settings.maxQueuedExecutions.config
    const rows = new Map<string, Row>()
    const keys = new Map<
      string,
      { readonly executionId: ExecutionId; readonly fingerprint: string; readonly at: number }
    >()
    const abandoned = new Set<string>()
    const buried = new Map<string, Buried>()

    const iso = (ms: number) => new Date(ms).toISOString()
    const snapshot = (row: Row): Job => ({
      ...row.job,
      next_attempt_at: iso(row.due),
      claimed_until: row.claimedUntil === null ? null : iso(row.claimedUntil)
    })
    /** The row, if `owner` still holds its claim. */
    const held = (job: Job, owner: string, now: number) => {
      const row = rows.get(job.id)
      return row !== undefined && row.job.claimed_by === owner && row.claimedUntil !== null && row.claimedUntil > now
        ? row
        : undefined
    }
    /** When a row can next be claimed. */
    const claimableAt = (row: Row) => Math.max(row.due, row.claimedUntil ?? 0)

    /** A new row, due now (the caller wakes the dispatcher). */
    const add = (job: NewJob, now: number) =>
      rows.set(job.id, {
        job: {
          ...job,
          attempt_count: 0,
          next_attempt_at: iso(now),
          claimed_by: null,
          claimed_until: null,
          last_error: null
        },
        due: now,
        claimedUntil: null
      })

    /** A new row, due now; wakes the dispatcher. */
    const insert = (job: NewJob) =>
      Effect.gen(function*() {
        add(job, yield* Clock.currentTimeMillis)
        yield* wake.signal
        return { execution_id: job.id, accepted_at: job.accepted_at, repeated: false }
      })

    const enqueue = Effect.fn("OutboxRepo.enqueue")(function*(job: NewJob, idempotencyKey?: string) {
      if (rows.size >= maxQueued) return yield* new OutboxFull({ limit: maxQueued })
      if (idempotencyKey !== undefined) {
        const now = yield* Clock.currentTimeMillis
        const scoped = `${job.app_id}\u0000${idempotencyKey}`
        const earlier = keys.get(scoped)
        const fingerprint = requestFingerprint(job)
        if (earlier !== undefined && now - earlier.at < WINDOW_MS) {
          if (earlier.fingerprint !== fingerprint) return yield* new IdempotencyKeyReused({ key: idempotencyKey })
          const first = rows.get(earlier.executionId)?.job ??
            (yield* log.get(earlier.executionId).pipe(Effect.option)).pipe(Option.getOrUndefined)
          return {
            execution_id: earlier.executionId,
            accepted_at: first?.accepted_at ?? iso(earlier.at),
            repeated: true
          }
        }
        keys.set(scoped, { executionId: job.id, fingerprint, at: now })
      }
      return yield* insert(job)
    })

    // Memory storage has no rollback (TransactionsMemory runs writes as they come): the rows are
    // written, like the KV writes before them, once the caller got this far.
    const enqueueAll = Effect.fn("OutboxRepo.enqueueAll")(function*(jobs: ReadonlyArray<NewJob>) {
      if (jobs.length === 0) return
      const now = yield* Clock.currentTimeMillis
      for (const job of jobs) add(job, now)
      yield* wake.signal
    })

    const claim = Effect.fn("OutboxRepo.claim")(function*(owner: string, limit: number) {
      const now = yield* Clock.currentTimeMillis
      const due = [...rows.values()]
        .filter((row) => claimableAt(row) <= now)
        .sort((a, b) => a.due - b.due)
        .slice(0, limit)
      for (const row of due) {
        row.job = { ...row.job, attempt_count: row.job.attempt_count + 1, claimed_by: owner }
        row.claimedUntil = now + row.job.lease_seconds * 1000
      }
      const waiting = [...rows.values()].filter((row) => !due.includes(row)).map(claimableAt)
      return { jobs: due.map(snapshot), nextDueAt: waiting.length ? Math.min(...waiting) : null }
    })

    const complete = Effect.fn("OutboxRepo.complete")(function*(job: Job, owner: string, record: ExecutionRecord) {
      if (held(job, owner, yield* Clock.currentTimeMillis) === undefined) return false
      rows.delete(job.id)
      if (job.kind === "dead_letter") {
        const dead = buried.get(job.payload.dead_letter.id)
        if (dead !== undefined) {
          dead.resolution = record.status === "succeeded" ? "handled" : "handler_failed"
          dead.resolutionError = record.status === "succeeded" ? null : record.error
        }
      }
      yield* log.record(record)
      return true
    })

    const retryLater = Effect.fn("OutboxRepo.retryLater")(function*(
      job: Job,
      owner: string,
      options: {
        readonly delayMs: number
        readonly error: Job["last_error"]
        readonly attempt?: ExecutionAttempt | undefined
      }
    ) {
      const now = yield* Clock.currentTimeMillis
      const row = held(job, owner, now)
      if (row === undefined) return false
      if (options.attempt !== undefined) yield* log.recordAttempt(job.id, options.attempt)
      row.job = {
        ...row.job,
        claimed_by: null,
        last_error: options.error ?? row.job.last_error
      }
      row.claimedUntil = null
      row.due = now + options.delayMs
      return true
    })

    const deadLetter = Effect.fn("OutboxRepo.deadLetter")(
      function*(job: Job, owner: string, record: ExecutionRecord, handler?: HandlerJob) {
        const now = yield* Clock.currentTimeMillis
        const row = held(job, owner, now)
        if (row === undefined) return false
        rows.delete(job.id)
        buried.set(job.id, {
          job: row.job,
          error: record.error ?? { code: "unknown", message: "" },
          at: handler?.payload.dead_letter.dead_lettered_at ?? iso(now),
          replayedAs: null,
          resolution: handler === undefined ? null : "pending",
          resolutionError: null
        })
        yield* log.record(record)
        if (handler !== undefined) {
          add(handler, now)
          yield* wake.signal
        }
        return true
      }
    )

    const toDeadLetter = ({ job, error, at, replayedAs, resolution, resolutionError }: Buried): DeadLetter => ({
      ...deadLetterEvent(job, error, at),
      replayed_as: replayedAs,
      resolution,
      resolution_error: resolutionError
    })

    /** Newest first: the later time, then the larger id. */
    const newestFirst = (a: { at: string; id: string }, b: { at: string; id: string }) =>
      a.at === b.at ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.at < b.at ? 1 : -1

    // As in PostgreSQL, a position that is no dead letter's id starts no page.
    const deadLetters = (options: DeadLetterListOptions) =>
      Effect.sync(() =>
        options.after !== undefined && !UUID_PATTERN.test(options.after.id) ? [] : [...buried.values()]
          .filter(({ job }) => options.appIds === undefined || options.appIds.includes(job.app_id))
          .filter(({ job }) => options.scriptId === undefined || job.script_id === options.scriptId)
          .filter(({ resolution }) => options.resolution === undefined || (resolution ?? "none") === options.resolution)
          .filter(({ job, at }) => options.after === undefined || newestFirst({ at, id: job.id }, options.after) > 0)
          .sort((a, b) => newestFirst({ at: a.at, id: a.job.id }, { at: b.at, id: b.job.id }))
          .slice(0, options.limit)
          .map(toDeadLetter)
      )

    const findDeadLetter = (id: string) =>
      Effect.sync(() => Option.map(Option.fromNullishOr(buried.get(id)), toDeadLetter))

    const replay = Effect.fn("OutboxRepo.replay")(function*(id: string, executionId: ExecutionId, acceptedAt: string) {
      const dead = buried.get(id)
      if (dead === undefined) return Option.none()
      const {
        attempt_count: _a,
        next_attempt_at: _n,
        claimed_by: _b,
        claimed_until: _u,
        last_error: _e,
        ...job
      } = dead.job
      const accepted = yield* insert({
        ...job,
        id: executionId,
        accepted_at: acceptedAt,
        lineage: { ...job.lineage, parent_execution_id: job.id }
      })
      dead.replayedAs = executionId
      return Option.some(accepted)
    })

    const discard = (id: string) => Effect.sync(() => buried.delete(id))

    const releaseStale = (nodeId: string, keep: ReadonlyArray<string>) =>
      Effect.sync(() => {
        let released = 0
        for (const row of rows.values()) {
          const by = row.job.claimed_by
          if (by !== null && by.startsWith(`${nodeId}/`) && !keep.includes(row.job.id)) {
            row.job = { ...row.job, claimed_by: null }
            row.claimedUntil = null
            released++
          }
        }
        return released
      })

    const find = (id: string) =>
      Effect.sync(() => {
        const row = rows.get(id)
        return row === undefined ? Option.none<Job>() : Option.some(snapshot(row))
      })

    const queuedChildren = (parentIds: ReadonlyArray<string>, limit: number) =>
      Effect.sync(() =>
        [...rows.values()]
          .map((row) => row.job)
          .filter((job) =>
            job.lineage.parent_execution_id !== null && parentIds.includes(job.lineage.parent_execution_id)
          )
          .sort((a, b) =>
            a.accepted_at === b.accepted_at ? (a.id < b.id ? -1 : 1) : a.accepted_at < b.accepted_at ? -1 : 1
          )
          .slice(0, limit)
          .map(({ id, app_id, script_id, kind, lineage, accepted_at }) => ({
            id,
            app_id,
            script_id,
            kind,
            lineage,
            accepted_at
          }))
      )

    const abandon = (id: string) => Effect.sync(() => void abandoned.add(id))

    const stats = Effect.map(Clock.currentTimeMillis, (now) => {
      let due = 0
      let oldest = now
      for (const row of rows.values()) {
        const at = claimableAt(row)
        if (at > now) continue
        due++
        oldest = Math.min(oldest, at)
      }
      return { rows: rows.size, due, oldestDueAgeMs: now - oldest }
    })

    return OutboxRepo.of({
      enqueue,
      enqueueAll,
      claim,
      complete,
      retryLater,
      deadLetter,
      releaseStale,
      find,
      queuedChildren,
      abandon,
      deadLetters,
      findDeadLetter,
      replay,
      discard,
      stats
    })
  })
)
