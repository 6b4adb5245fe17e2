import { Clock, Data, Duration, Effect, FiberMap, Layer, Metric, Option, Schedule } from "effect"
import * as Settings from "../config/Settings.ts"
import { attemptOf, type ExecutionErrorInfo, type ExecutionRecord } from "../domain/Execution.ts"
import type { Principal } from "../domain/Identity.ts"
import type { ExecutionId } from "../domain/Ids.ts"
import { InboxResolver } from "../domain/InboxResolver.ts"
import { type Job, OutboxRepo } from "../domain/OutboxRepo.ts"
import { PrincipalResolver } from "../domain/PrincipalResolver.ts"
import { restartingLoop } from "../domain/restartingLoop.ts"
import { retryDelay } from "../domain/RetryPolicy.ts"
import { Transactions } from "../domain/Transactions.ts"
import { uuidv7 } from "../domain/uuidv7.ts"
import { DispatcherWake } from "./DispatcherWake.ts"
import { ExecutionGate } from "./ExecutionGate.ts"
import { ExecutionTail } from "./ExecutionTail.ts"
import { commitFailed, type InvocationInput, Invoker } from "./Invoker.ts"
import { handlerJob, notRunErrors, notRunRecord } from "./jobRecords.ts"
import { KvCommit } from "./KvCommit.ts"
import * as Metrics from "./PlatformMetrics.ts"
import { type ResolvedScript, ScriptCache } from "./ScriptCache.ts"

/** The longest an idle dispatcher sleeps without looking: it covers a missed NOTIFY or signal. */
export const FALLBACK_POLL = Duration.seconds(5)
/** Rows claimed per query at most (fewer when the gate has fewer free permits). */
const CLAIM_BATCH = 32
/** How long a shutdown waits for running async executions before putting them back. */
const DRAIN_TIMEOUT = Duration.seconds(10)
/** Completing rolled back: the claim had passed to another claimer. */
class ClaimLost extends Data.TaggedError("ClaimLost") {}

/**
 * Ending a row (complete, retry later, dead-letter) is retried while the database is away, for as
 * long as the claim lasts: the outcome is known, and letting the lease run out would only run the
 * script again.
 */
const endingWrite = (job: Job) =>
  Schedule.exponential("100 millis").pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(2)))),
    Schedule.upTo({ duration: Duration.seconds(job.lease_seconds) })
  )

/**
 * The outbox dispatcher (docs/ARCHITECTURE.md §5): one supervised fiber per process. It claims due rows as
 * the `ExecutionGate` has room, runs each in its own fiber, and ends each row by its outcome:
 * complete, retry later by the row's policy, or dead-letter once the attempts are used up (with
 * its dead-letter handler's row, if it names one); then it tells the `InboxResolver`. A row deeper
 * than `PICLOUD_MAX_TRIGGER_DEPTH` is not run; a dead-letter handler runs once. Idle, it sleeps
 * until a signal (local or NOTIFY), the next due row, or the fallback poll, whichever comes first:
 * one query per wake, nothing in between.
 */
export const layer = Layer.effectDiscard(Effect.gen(function*() {
  const outbox = yield* OutboxRepo
  const invoker = yield* Invoker
  const gate = yield* ExecutionGate
  const scripts = yield* ScriptCache
  const inbox = yield* InboxResolver
  const wake = yield* DispatcherWake
  const kvCommit = yield* KvCommit
  const transactions = yield* Transactions
  const principals = yield* PrincipalResolver
  const metrics = yield* Metrics.PlatformMetrics
  const tail = yield* ExecutionTail
  const nodeId = yield* Settings.nodeId.config
  const maxDepth = yield* Settings.maxTriggerDepth.config
  // Claims name this run of this node: only the run that claimed a row may end it.
  const owner = `${nodeId}/${uuidv7()}`
  /** The executions this run has going, by row id: the claims a release must keep. */
  const running = yield* FiberMap.make<string, void, never>()
  const runningIds = () => [...running].map(([id]) => id)
  /** Set when a claim was cut short by the gate: a finished execution then wakes the loop. */
  let starved = false

  /** The record of a row not run, stamped now. */
  const notRun = (
    job: Job,
    target: Option.Option<ResolvedScript>,
    outcome: Parameters<typeof notRunRecord>[3]
  ) => Clock.currentTimeMillis.pipe(Effect.map((now) => notRunRecord(job, target, now, outcome)))

  /** The row ended with `record` (committed): live tails get the record, waiters their answer. */
  const ended = (job: Job, record: ExecutionRecord) => Effect.andThen(tail.publish(record), inbox.deliver(job.id))

  /** Ends the row with its final record (for a handler, resolving its dead letter), then tells the inbox. */
  const finish = (job: Job, record: ExecutionRecord) =>
    outbox.complete(job, owner, record).pipe(
      Effect.retry(endingWrite(job)),
      Effect.flatMap((done) => (done ? ended(job, record) : Effect.void))
    )

  /** The handler row to write with `job`'s dead letter, if it names a handler. */
  const handlerFor = (job: Job, error: ExecutionErrorInfo, principal: Principal | null) =>
    Effect.gen(function*() {
      const { dead_letter_script_id } = job
      if (dead_letter_script_id === null) return undefined
      return handlerJob({ ...job, dead_letter_script_id }, {
        id: uuidv7() as ExecutionId,
        now: yield* Clock.currentTimeMillis,
        error,
        principal,
        handler: yield* scripts.resolve(undefined, dead_letter_script_id)
      })
    })

  /**
   * A failed attempt: again after the policy's delay, or into dead letters when none is left (or,
   * `retryable: false`, when no retry could succeed), with its handler's row if it names one. A
   * dead-letter handler is never retried nor dead-lettered: its failure ends it, resolving its dead
   * letter as `handler_failed`.
   */
  const failed = (job: Job, record: ExecutionRecord, principal: Principal | null, retryable = true) =>
    Effect.gen(function*() {
      yield* metrics.executionEnded(record)
      if (job.kind === "dead_letter") return yield* finish(job, record)
      const delay = retryable ? yield* retryDelay(job.retry, job.attempt_count) : undefined
      if (delay === undefined) {
        const error = record.error ?? { code: "unknown", message: "" }
        const handler = yield* handlerFor(job, error, principal)
        const dead: ExecutionRecord = { ...record, status: "dead_lettered" }
        const done = yield* outbox.deadLetter(job, owner, dead, handler).pipe(Effect.retry(endingWrite(job)))
        if (done) yield* Effect.andThen(Metrics.deadLettered(job), ended(job, dead))
        return
      }
      yield* outbox.retryLater(job, owner, {
        delayMs: Duration.toMillis(delay),
        error: record.error,
        attempt: attemptOf(record)
      }).pipe(
        Effect.retry(endingWrite(job)),
        Effect.tap((later) => (later ? Metrics.retried(job) : Effect.void))
      )
      // The loop's sleep was computed before this row had a due time.
      yield* wake.signal
    })

  /** A row deeper than the limit: not run, not retried, not dead-lettered; recorded, logged, counted. */
  const tooDeep = (job: Job, target: Option.Option<ResolvedScript>) =>
    Effect.gen(function*() {
      const error = notRunErrors.depthExceeded(job, maxDepth)
      yield* Effect.logWarning(
        `${job.kind} execution ${job.id} (root ${job.lineage.root_execution_id}) not run: ${error.message}`
      )
      yield* Metric.update(Metrics.triggerDepthExceeded, 1)
      const record = yield* notRun(job, target, { status: "depth_exceeded", status_code: null, error })
      yield* metrics.executionEnded(record)
      yield* finish(job, record)
    })

  /**
   * What the script is given for a row of each kind, as whom; `None` for a KV trigger or a schedule
   * whose registrant is gone (or no longer granted the app).
   */
  const inputFor = (job: Job) =>
    Effect.gen(function*() {
      const lineage = job.lineage
      switch (job.kind) {
        case "http": {
          const { request, principal } = job.payload
          return Option.some<InvocationInput>({ invocation: "http", request, principal, lineage })
        }
        case "kv":
        case "schedule": {
          const principal = yield* principals.forUser(job.payload.registrant_user_id, job.app_id)
          return Option.map(principal, (principal): InvocationInput => ({
            invocation: job.kind,
            request: null,
            event: job.payload.event,
            principal,
            lineage,
            kvKey: job.kind === "kv" ? job.payload.event.key : undefined
          }))
        }
        case "dead_letter": {
          const { dead_letter, principal } = job.payload
          return Option.some<InvocationInput>({
            invocation: "dead_letter",
            request: null,
            event: { dead_letter },
            principal,
            lineage
          })
        }
      }
    })

  const runJob = (job: Job) =>
    Effect.gen(function*() {
      const target = yield* scripts.resolve(undefined, job.script_id)
      if (job.lineage.trigger_depth > maxDepth) return yield* tooDeep(job, target)
      const input = yield* inputFor(job)
      // Who a dead-letter handler would run as: the caller, or the registrant while it still may.
      const principal = Option.match(input, { onNone: () => null, onSome: ({ principal }) => principal })
      if (Option.isNone(target)) {
        // Its script was deleted: no retry can run it.
        const error = notRunErrors.scriptGone(job)
        const record = yield* notRun(job, target, { status: "failed", status_code: 404, error })
        return yield* failed(job, record, principal, false)
      }
      if (Option.isNone(input)) {
        // Its registrant was deleted or lost the app: no retry can run it.
        const error = notRunErrors.principalRevoked(job)
        const record = yield* notRun(job, target, { status: "failed", status_code: 403, error })
        return yield* failed(job, record, null, false)
      }
      // Waits for a permit if sync traffic holds them all: it is handed the next one released.
      const attempted = yield* invoker.attempt(target.value, input.value, {
        executionId: job.id,
        acceptedAt: job.accepted_at,
        attempt: job.attempt_count
      }).pipe(gate.runQueued)
      if (attempted._tag === "Failed") return yield* failed(job, attempted.record, principal)
      // The execution's KV writes (and the rows they trigger) commit with the row's completion, or
      // not at all: a run whose claim was lost, or that a crash interrupts, leaves nothing behind.
      // The writes' triggers are matched before the transaction opens (`KvCommit.prepare`).
      const completed = yield* kvCommit.prepare(target.value.app.id, attempted.writes, {
        executionId: job.id,
        lineage: job.lineage
      }).pipe(
        Effect.flatMap((commitWrites) =>
          commitWrites.pipe(
            Effect.andThen(outbox.complete(job, owner, attempted.record)),
            Effect.flatMap((done) => (done ? Effect.succeed(true) : Effect.fail(new ClaimLost()))),
            transactions.atomically
          )
        ),
        Effect.retry({ schedule: endingWrite(job), while: (error) => error._tag === "PersistenceError" }),
        Effect.catchTag("ClaimLost", () => Effect.succeed(false)),
        Effect.catch((error) =>
          error._tag === "PersistenceError"
            ? Effect.fail(error)
            : failed(job, commitFailed(attempted, error).record, principal).pipe(Effect.as(false))
        )
      )
      if (completed) {
        yield* Effect.andThen(metrics.executionEnded(attempted.record, target.value.app), ended(job, attempted.record))
      }
    }).pipe(
      // The claim stays; its lease expiring brings the row back.
      Effect.catch((error) =>
        Effect.logWarning(
          `async execution ${job.id}: ${error.operation} failed; it runs again when its lease ends`,
          error.cause
        )
      ),
      Effect.ensuring(Effect.suspend(() => (starved ? wake.signal : Effect.void)))
    )

  /**
   * One claim, then sleep until there may be more to do. It claims what the gate has room for; with
   * the gate full, one row, to wait in the gate's queue for the next permit sync traffic returns,
   * unless one is waiting already.
   */
  const cycle = Effect.gen(function*() {
    const free = Math.min(CLAIM_BATCH, yield* gate.available)
    starved = free < CLAIM_BATCH
    if (free === 0 && (yield* gate.queued) > 0) return yield* wake.wait(FALLBACK_POLL)
    const room = Math.max(free, 1)
    const { jobs, nextDueAt } = yield* outbox.claim(owner, room)
    yield* Metrics.claimed(jobs)
    for (const job of jobs) yield* FiberMap.run(running, job.id, runJob(job))
    if (jobs.length === room) return // there may be more due right now
    const now = yield* Clock.currentTimeMillis
    const untilDue = nextDueAt === null ? FALLBACK_POLL : Duration.millis(Math.max(0, nextDueAt - now))
    yield* wake.wait(Duration.min(untilDue, FALLBACK_POLL))
  })

  /**
   * Cycles forever; a failure (database away) restarts it after a growing, jittered pause. Each
   * (re)start first releases this node's claims it is not running: those of a run that crashed,
   * and those of a claim whose reply a dropped connection lost.
   */
  let released = false
  const supervised = restartingLoop(
    "dispatcher",
    Effect.suspend(() =>
      released
        ? cycle
        : outbox.releaseStale(nodeId, runningIds()).pipe(Effect.tap(() => Effect.sync(() => (released = true))))
    ),
    Effect.sync(() => (released = false))
  )

  // On shutdown (finalizers run in reverse): the loop stops first, then running executions get a
  // while to finish, then the rest are interrupted and their rows released for the next start.
  yield* Effect.addFinalizer(() =>
    FiberMap.awaitEmpty(running).pipe(
      Effect.timeoutOption(DRAIN_TIMEOUT),
      Effect.andThen(FiberMap.clear(running)),
      Effect.andThen(Effect.suspend(() => outbox.releaseStale(nodeId, runningIds()))),
      Effect.catch((error) =>
        Effect.logWarning("could not release async claims at shutdown; they return when their leases end", error.cause)
      )
    )
  )
  yield* supervised.pipe(Effect.forkScoped)
}))
