import { Cause, Clock, Duration, Effect, FiberMap, Layer, Option, Schedule } from "effect"
import * as Settings from "../config/Settings.ts"
import { type ExecutionRecord, rootLineage } from "../domain/Execution.ts"
import type { ScriptId } from "../domain/Ids.ts"
import { InboxResolver } from "../domain/InboxResolver.ts"
import { type Job, OutboxRepo } from "../domain/OutboxRepo.ts"
import { MAX_ATTEMPTS_CEILING, retryDelay, type RetryPolicy } from "../domain/RetryPolicy.ts"
import { uuidv7 } from "../domain/uuidv7.ts"
import { DispatcherWake } from "./DispatcherWake.ts"
import { ExecutionGate } from "./ExecutionGate.ts"
import { Invoker } from "./Invoker.ts"
import { ScriptCache } from "./ScriptCache.ts"

/** The longest an idle dispatcher sleeps without looking: it covers a missed NOTIFY or signal. */
export const FALLBACK_POLL = Duration.seconds(5)
/** Rows claimed per query at most (fewer when the gate has fewer free permits). */
const CLAIM_BATCH = 32
/** How long a shutdown waits for running async executions before putting them back. */
const DRAIN_TIMEOUT = Duration.seconds(10)
/** Restarts of the loop while the database is away: 200 ms doubling to 30 s, jittered. */
const RESTART_POLICY: RetryPolicy = {
  backoff: "exponential",
  initial_delay_ms: 200,
  max_delay_ms: 30_000,
  max_attempts: MAX_ATTEMPTS_CEILING,
  jitter: true
}

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
 * complete, retry later by the row's policy, or dead-letter once the attempts are used up; then it
 * tells the `InboxResolver`. Idle, it sleeps until a signal (local or NOTIFY), the next due row, or
 * the fallback poll, whichever comes first: one query per wake, nothing in between.
 */
export const layer = Layer.effectDiscard(Effect.gen(function*() {
  const outbox = yield* OutboxRepo
  const invoker = yield* Invoker
  const gate = yield* ExecutionGate
  const scripts = yield* ScriptCache
  const inbox = yield* InboxResolver
  const wake = yield* DispatcherWake
  const nodeId = yield* Settings.nodeId.config
  // Claims name this run of this node: only the run that claimed a row may end it.
  const owner = `${nodeId}/${uuidv7()}`
  /** The executions this run has going, by row id: the claims a release must keep. */
  const running = yield* FiberMap.make<string, void, never>()
  const runningIds = () => [...running].map(([id]) => id)
  /** Set when a claim was cut short by the gate: a finished execution then wakes the loop. */
  let starved = false

  /** The record of an attempt whose script was deleted after the request was accepted. */
  const scriptGone = (job: Job): ExecutionRecord => ({
    id: job.id,
    app_id: job.app_id,
    script_id: job.script_id as ScriptId,
    script_name: "",
    script_version: 0,
    invocation: "http",
    status: "failed",
    status_code: 404,
    started_at: new Date().toISOString(),
    duration_ms: 0,
    logs: [],
    logs_truncated: false,
    error: { code: "script_not_found", message: `script ${job.script_id} no longer exists` },
    accepted_at: job.accepted_at,
    attempts: job.attempt_count,
    result: null,
    ...rootLineage(job.id),
    kv_reads: 0,
    kv_writes: 0
  })

  /**
   * A failed attempt: again after the policy's delay, or into dead letters when none is left (or,
   * `retryable: false`, when no retry could succeed).
   */
  const failed = (job: Job, record: ExecutionRecord, retryable = true) =>
    Effect.gen(function*() {
      const delay = retryable ? yield* retryDelay(job.retry, job.attempt_count) : undefined
      if (delay === undefined) {
        const ended = yield* outbox.deadLetter(job, owner, { ...record, status: "dead_lettered" }).pipe(
          Effect.retry(endingWrite(job))
        )
        if (ended) yield* inbox.deliver(job.id)
        return
      }
      yield* outbox.retryLater(job, owner, { delayMs: Duration.toMillis(delay), error: record.error }).pipe(
        Effect.retry(endingWrite(job))
      )
      // The loop's sleep was computed before this row had a due time.
      yield* wake.signal
    })

  const runJob = (job: Job) =>
    Effect.gen(function*() {
      const target = yield* scripts.resolve(undefined, job.script_id)
      if (Option.isNone(target)) {
        // Its script was deleted: no retry can run it.
        return yield* failed(job, scriptGone(job), false)
      }
      const input = { invocation: "http" as const, request: job.payload.request, principal: job.payload.principal }
      // Waits for a permit if sync traffic holds them all: it is handed the next one released.
      const attempted = yield* invoker.attempt(target.value, input, {
        executionId: job.id,
        acceptedAt: job.accepted_at,
        attempt: job.attempt_count
      }).pipe(gate.runQueued)
      if (attempted._tag === "Failed") return yield* failed(job, attempted.record)
      const completed = yield* outbox.complete(job, owner, attempted.record).pipe(Effect.retry(endingWrite(job)))
      if (completed) yield* inbox.deliver(job.id)
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
  const supervised = Effect.gen(function*() {
    let failures = 0
    let released = false
    for (;;) {
      const step = released
        ? cycle
        : outbox.releaseStale(nodeId, runningIds()).pipe(Effect.tap(() => Effect.sync(() => (released = true))))
      const outcome = yield* step.pipe(Effect.asVoid, Effect.catchCause((cause) => Effect.succeed(cause)))
      if (outcome === undefined) {
        failures = 0
        continue
      }
      if (Cause.hasInterruptsOnly(outcome)) return yield* Effect.failCause(outcome)
      failures++
      released = false
      const pause = (yield* retryDelay(RESTART_POLICY, Math.min(failures, MAX_ATTEMPTS_CEILING - 1))) ??
        Duration.seconds(30)
      yield* Effect.logWarning(
        `dispatcher failed (${failures} in a row); restarting in ${Duration.format(pause)}`,
        outcome
      )
      yield* Effect.sleep(pause)
    }
  })

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
