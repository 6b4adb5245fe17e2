import { assert, describe, it } from "@effect/vitest"
import { Clock, ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Option, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as TransactionsMemory from "../../../src/db/TransactionsMemory.ts"
import { DEFAULT_APP_ID, DEFAULT_APP_NAME } from "../../../src/domain/App.ts"
import { AppEnv } from "../../../src/domain/AppEnv.ts"
import { ExecError, type ExecRequest, type ExecResponse } from "../../../src/domain/Exec.ts"
import { rootLineage } from "../../../src/domain/Execution.ts"
import { ExecutionLog } from "../../../src/domain/ExecutionLog.ts"
import { Executor } from "../../../src/domain/Executor.ts"
import type { Principal } from "../../../src/domain/Identity.ts"
import type { ExecutionId, ScriptId } from "../../../src/domain/Ids.ts"
import type { KvEvent } from "../../../src/domain/KvEvent.ts"
import { type NewJob, OutboxRepo } from "../../../src/domain/OutboxRepo.ts"
import { PrincipalResolver } from "../../../src/domain/PrincipalResolver.ts"
import type { RetryPolicy } from "../../../src/domain/RetryPolicy.ts"
import type { ScheduleEvent } from "../../../src/domain/ScheduleEvent.ts"
import { ScriptWithSource } from "../../../src/domain/Script.ts"
import { uuidv7 } from "../../../src/domain/uuidv7.ts"
import * as AppRepoMemory from "../../../src/manager/AppRepoMemory.ts"
import * as KvStoreMemory from "../../../src/manager/KvStoreMemory.ts"
import * as Dispatcher from "../../../src/orchestrator/Dispatcher.ts"
import * as DispatcherWakeLocal from "../../../src/orchestrator/DispatcherWakeLocal.ts"
import { ExecutionGate } from "../../../src/orchestrator/ExecutionGate.ts"
import * as ExecutionLogMemory from "../../../src/orchestrator/ExecutionLogMemory.ts"
import { ExecutionTail } from "../../../src/orchestrator/ExecutionTail.ts"
import * as InboxResolverLocal from "../../../src/orchestrator/InboxResolverLocal.ts"
import { Invoker } from "../../../src/orchestrator/Invoker.ts"
import { KvCommit } from "../../../src/orchestrator/KvCommit.ts"
import * as OutboxRepoMemory from "../../../src/orchestrator/OutboxRepoMemory.ts"
import { PlatformMetrics } from "../../../src/orchestrator/PlatformMetrics.ts"
import { ScriptCache } from "../../../src/orchestrator/ScriptCache.ts"
import { TriggerTable } from "../../../src/orchestrator/TriggerTable.ts"

const script = new ScriptWithSource({
  id: "0b4f34e0-0000-4000-8000-00000000d15a" as ScriptId,
  app_id: DEFAULT_APP_ID,
  name: "job",
  version: 1,
  timeout_seconds: 30,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  source: "export default () => 'ok'"
})

/** Every row runs the one script: the dispatcher's lookup without the repositories behind it. */
const oneScript = Layer.succeed(
  ScriptCache,
  ScriptCache.of({
    resolve: () =>
      Effect.succeed(
        Option.some({ script, app: { id: DEFAULT_APP_ID, name: DEFAULT_APP_NAME, created_at: script.created_at } })
      )
  })
)

const noSecrets = Layer.succeed(AppEnv, AppEnv.of({ forApp: () => Effect.succeed({}), forget: () => Effect.void }))

/** The one user triggers are registered by here; any other registrant is gone. */
const registrant: Principal = {
  user_id: "0b4f34e0-0000-4000-8000-0000000005e1",
  username: "registrant",
  role: "developer",
  apps: [DEFAULT_APP_ID]
}

const principals = Layer.succeed(
  PrincipalResolver,
  PrincipalResolver.of({
    fromToken: () => Effect.succeed(Option.none()),
    forUser: (userId, appId) =>
      Effect.succeed(
        userId === registrant.user_id && registrant.apps.includes(appId) ? Option.some(registrant) : Option.none()
      ),
    forgetAll: Effect.void
  })
)

const ok: ExecResponse = { statusCode: 200, headers: {}, body: "ok", logs: [], logsTruncated: false, durationMs: 1 }
const boom = new ExecError({ reason: "ScriptThrew", message: "boom", logs: [], logsTruncated: false, durationMs: 1 })

/**
 * The sandbox, faked. Each run is noted with the test clock's time (`runs`), then does what `behave`
 * says for that run (numbered from 1): `blocked` is a run that succeeds once `unblock` is called.
 * `interrupted` counts runs stopped before they ended.
 */
const fakeSandbox = (
  behave: (
    run: number,
    blocked: Effect.Effect<ExecResponse>,
    request: ExecRequest
  ) => Effect.Effect<ExecResponse, ExecError>
) => {
  const runs: Array<number> = []
  const requests: Array<ExecRequest> = []
  const state = { runs, requests, interrupted: 0 }
  const held = Deferred.makeUnsafe<void>()
  const blocked = Deferred.await(held).pipe(Effect.as(ok))
  const layer = Layer.succeed(
    Executor,
    Executor.of({
      execute: (request) =>
        Effect.gen(function*() {
          runs.push(yield* Clock.currentTimeMillis)
          requests.push(request)
          return yield* behave(runs.length, blocked, request)
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => state.interrupted++)))
    })
  )
  return { state, layer, unblock: Deferred.succeed(held, undefined) }
}

/** Writes here fire nothing: the fan-out has its own tests. */
const noTriggers = Layer.succeed(TriggerTable, TriggerTable.of({ matching: () => Effect.succeed([]) }))

/**
 * The dispatcher's surroundings, all in memory; the executor is the test's. The gate has the default
 * 32 permits, a full claim batch: no claim here is cut short by the gate.
 */
const surroundings = (executor: Layer.Layer<Executor>) =>
  Layer.mergeAll(
    Invoker.layer.pipe(Layer.provide([executor, noSecrets])),
    InboxResolverLocal.layer,
    Layer.effect(ExecutionGate, ExecutionGate.make(32)),
    principals
  ).pipe(
    Layer.provideMerge(ExecutionTail.layer),
    Layer.provideMerge(KvCommit.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        OutboxRepoMemory.layer,
        oneScript,
        noTriggers,
        PlatformMetrics.layer.pipe(Layer.provide(AppRepoMemory.layer))
      )
    ),
    Layer.provideMerge(
      Layer.mergeAll(ExecutionLogMemory.layer, DispatcherWakeLocal.layer, KvStoreMemory.layer, TransactionsMemory.layer)
    )
  )

/**
 * Runs a test among the surroundings. Its dispatchers stop before the surroundings close; runs still
 * blocked when it ends are let go first, so a failed test cannot leave a shutdown waiting for them
 * on a clock nobody moves.
 */
const withSandbox = <A, E, R>(sandbox: ReturnType<typeof fakeSandbox>, test: Effect.Effect<A, E, R>) =>
  test.pipe(Effect.ensuring(sandbox.unblock), Effect.scoped, Effect.provide(surroundings(sandbox.layer)))

/**
 * Lets the fibers the last step woke (the dispatcher's loop, its executions) run until they wait
 * again. Everything here is in memory and the scheduler is first in, first out, so a few turns are
 * plenty; `TestClock.adjust` does the same by itself for the fibers its timers wake.
 */
const settle = Effect.gen(function*() {
  for (let turn = 0; turn < 20; turn++) yield* Effect.yieldNow
})

/**
 * Starts a dispatcher as node `nodeId` in a scope of its own, and lets it make its first claim. The
 * effect returned closes that scope: the dispatcher's shutdown (the test's end closes it too).
 */
const startDispatcher = (nodeId: string, settings: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Scope.Scope)
    const config = ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_NODE_ID: nodeId, ...settings }))
    yield* Layer.buildWithScope(Layer.fresh(Dispatcher.layer).pipe(Layer.provide(config)), scope)
    yield* settle
    return Scope.close(scope, Exit.void)
  })

const newJob = (retry: RetryPolicy, lease_seconds: number, dead_letter_script_id: string | null = null): NewJob => {
  const id = uuidv7() as ExecutionId
  return {
    id,
    app_id: DEFAULT_APP_ID,
    script_id: script.id,
    kind: "http",
    payload: {
      request: { method: "POST", path: "/default/job", params: {}, query: {}, headers: {}, body: "" },
      principal: null
    },
    retry,
    lease_seconds,
    accepted_at: new Date(0).toISOString(),
    lineage: rootLineage(id),
    dead_letter_script_id
  }
}

const event: KvEvent = {
  op: "set",
  key: "orders/1",
  value: { qty: 2 },
  old_value: null,
  version: 1,
  app: DEFAULT_APP_ID,
  trigger_id: "0b4f34e0-0000-4000-8000-00000000076e",
  at: new Date(0).toISOString()
}

/** What a KV write at depth `depth - 1` triggered: a row at `depth`, enqueued as the fan-out will. */
const kvJob = (
  depth: number,
  options: { readonly registrant?: string; readonly retry?: RetryPolicy; readonly handler?: string } = {}
): NewJob => ({
  ...newJob(options.retry ?? onceOnly, 30, options.handler ?? null),
  kind: "kv",
  payload: { event, registrant_user_id: options.registrant ?? registrant.user_id },
  lineage: {
    root_execution_id: "0b4f34e0-0000-4000-8000-0000000000a1",
    parent_execution_id: "0b4f34e0-0000-4000-8000-0000000000b2",
    trigger_depth: depth,
    trigger_id: event.trigger_id
  }
})

const tick: ScheduleEvent = {
  schedule_id: "0b4f34e0-0000-4000-8000-00000000c705",
  name: "nightly",
  scheduled_at: new Date(0).toISOString(),
  fired_at: new Date(5).toISOString()
}

/** A schedule's tick, as the scheduler enqueues it: a root, run as the schedule's registrant. */
const scheduleJob = (options: { readonly registrant?: string; readonly retry?: RetryPolicy } = {}): NewJob => ({
  ...newJob(options.retry ?? onceOnly, 30),
  kind: "schedule",
  payload: { event: tick, registrant_user_id: options.registrant ?? registrant.user_id }
})

const onceOnly: RetryPolicy = {
  backoff: "constant",
  initial_delay_ms: 1000,
  max_delay_ms: 1000,
  max_attempts: 1,
  jitter: false
}

/** Moves the clock to each due time in turn: nothing runs a millisecond before it, one run at it. */
const expectRunsAt = (runs: ReadonlyArray<number>, dueTimes: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    for (const due of dueTimes) {
      const before = runs.length
      yield* TestClock.setTime(due - 1)
      assert.deepStrictEqual(runs.slice(before), [], `nothing runs before ${due} ms`)
      yield* TestClock.setTime(due)
      assert.deepStrictEqual(runs.slice(before), [due], `one run at ${due} ms`)
    }
  })

describe("Dispatcher", () => {
  describe("leases", () => {
    it.effect("a row claimed by another node's run that went away is run again when its lease ends, not before", () => {
      const sandbox = fakeSandbox(() => Effect.succeed(ok))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          const job = newJob(onceOnly, 7)
          yield* outbox.enqueue(job)
          assert.strictEqual((yield* outbox.claim("node-b/crashed-run", 10)).jobs.length, 1)

          yield* startDispatcher("node-a")
          assert.deepStrictEqual(sandbox.state.runs, [], "the claim holds until its lease ends")
          yield* expectRunsAt(sandbox.state.runs, [7000])
          const record = yield* log.get(job.id)
          assert.strictEqual(record.status, "succeeded")
          assert.strictEqual(record.attempts, 2)
          assert.isTrue(Option.isNone(yield* outbox.find(job.id)))
        })
      )
    })

    it.effect("an execution that outlives its lease is stopped and run again when the lease ends, not before", () => {
      const sandbox = fakeSandbox((run, blocked) => (run === 1 ? blocked : Effect.succeed(ok)))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a")
          const job = newJob(onceOnly, 7)
          yield* outbox.enqueue(job)
          yield* settle
          assert.deepStrictEqual(sandbox.state.runs, [0])

          yield* expectRunsAt(sandbox.state.runs, [7000])
          assert.strictEqual(sandbox.state.interrupted, 1, "the first run, whose claim the second replaced, is stopped")
          const record = yield* log.get(job.id)
          assert.strictEqual(record.status, "succeeded")
          assert.strictEqual(record.attempts, 2)
          assert.isTrue(Option.isNone(yield* outbox.find(job.id)))
        })
      )
    })

    it.effect("a row claimed by an earlier run of this node is released at start and run at once, not at its lease's end", () => {
      const sandbox = fakeSandbox(() => Effect.succeed(ok))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          const job = newJob(onceOnly, 30)
          yield* outbox.enqueue(job)
          yield* outbox.claim("node-a/previous-run", 10)

          yield* startDispatcher("node-a")
          assert.deepStrictEqual(sandbox.state.runs, [0])
          assert.strictEqual((yield* log.get(job.id)).attempts, 2)
        })
      )
    })
  })

  describe("retries", () => {
    it.effect("a failing script is retried at its policy's constant delay, then dead-lettered once its attempts are used up", () => {
      const sandbox = fakeSandbox(() => Effect.fail(boom))
      const policy: RetryPolicy = {
        backoff: "constant",
        initial_delay_ms: 1000,
        max_delay_ms: 60_000,
        max_attempts: 3,
        jitter: false
      }
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a")
          const job = newJob(policy, 30)
          yield* outbox.enqueue(job)
          yield* settle
          assert.deepStrictEqual(sandbox.state.runs, [0])
          const waiting = Option.getOrThrow(yield* outbox.find(job.id))
          assert.strictEqual(waiting.next_attempt_at, new Date(1000).toISOString())
          assert.strictEqual(waiting.attempt_count, 1)
          assert.isNull(waiting.claimed_by)
          assert.strictEqual(waiting.last_error?.code, "script_error")

          yield* expectRunsAt(sandbox.state.runs, [1000, 2000])
          assert.isTrue(Option.isNone(yield* outbox.find(job.id)))
          const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
          assert.strictEqual(dead.attempts, 3)
          assert.strictEqual(dead.error.code, "script_error")
          const record = yield* log.get(job.id)
          assert.strictEqual(record.status, "dead_lettered")
          assert.strictEqual(record.attempts, 3)

          yield* TestClock.adjust("1 hour")
          assert.strictEqual(sandbox.state.runs.length, 3, "a dead letter is not run again")
        })
      )
    })

    it.effect("a failed attempt that is retried is kept with its error and logs; the final record alone goes to live tails", () => {
      const sandbox = fakeSandbox((run) =>
        run === 1
          ? Effect.fail(
            new ExecError({
              reason: "ScriptThrew",
              message: "first try",
              logs: [{ level: "log", message: "trying", at: 0.5 }],
              logsTruncated: false,
              durationMs: 4
            })
          )
          : Effect.succeed(ok)
      )
      const policy: RetryPolicy = { ...onceOnly, max_attempts: 2 }
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          const tail = yield* ExecutionTail
          const events = yield* tail.follow({ appIds: undefined, scriptId: undefined, status: undefined }, undefined)
          const read = yield* events.pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
          yield* startDispatcher("node-a")
          const job = newJob(policy, 30)
          yield* outbox.enqueue(job)
          yield* settle
          yield* expectRunsAt(sandbox.state.runs, [1000])
          const record = yield* log.get(job.id)
          assert.deepStrictEqual([record.status, record.attempts], ["succeeded", 2])
          assert.deepStrictEqual(yield* log.attempts(job.id), [{
            attempt: 1,
            status: "failed",
            status_code: 502,
            error: { code: "script_error", message: "first try" },
            started_at: new Date(0).toISOString(),
            duration_ms: 4,
            logs: [{ level: "log", message: "trying", at: 0.5 }],
            logs_truncated: false
          }])
          const [event] = yield* Fiber.join(read)
          assert.deepStrictEqual(event?._tag === "Record" ? JSON.parse(event.json) : event, record)
        })
      )
    })

    it.effect("exponential backoff without jitter doubles the delay up to its cap", () => {
      const sandbox = fakeSandbox(() => Effect.fail(boom))
      const policy: RetryPolicy = {
        backoff: "exponential",
        initial_delay_ms: 1000,
        max_delay_ms: 5000,
        max_attempts: 5,
        jitter: false
      }
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          yield* startDispatcher("node-a")
          const job = newJob(policy, 30)
          yield* outbox.enqueue(job)
          yield* settle
          assert.deepStrictEqual(sandbox.state.runs, [0])

          // Delays 1 s, 2 s, 4 s, then 8 s capped at 5 s.
          yield* expectRunsAt(sandbox.state.runs, [1000, 3000, 7000, 12_000])
          assert.strictEqual(Option.getOrThrow(yield* outbox.findDeadLetter(job.id)).attempts, 5)
          yield* TestClock.adjust("1 hour")
          assert.strictEqual(sandbox.state.runs.length, 5)
        })
      )
    })
  })

  describe("kinds, trigger depth and dead-letter handlers", () => {
    const fivePolicy: RetryPolicy = { ...onceOnly, max_attempts: 5 }

    it.effect("a KV row runs as its registrant, with its event and lineage and no request", () => {
      const sandbox = fakeSandbox(() => Effect.succeed(ok))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a")
          const job = kvJob(3)
          yield* outbox.enqueueAll([job])
          yield* settle
          const [request] = sandbox.state.requests
          assert.deepStrictEqual(
            [request?.invocation, request?.request, request?.event, request?.principal, request?.rootExecutionId],
            [
              "kv",
              null,
              event,
              { user_id: registrant.user_id, username: "registrant", role: "developer" },
              job.lineage
                .root_execution_id
            ]
          )
          assert.strictEqual(request?.triggerDepth, 3)
          const record = yield* log.get(job.id)
          assert.deepStrictEqual([record.status, record.invocation, record.trigger_depth, record.trigger_id], [
            "succeeded",
            "kv",
            3,
            event.trigger_id
          ])
          assert.strictEqual(record.parent_execution_id, job.lineage.parent_execution_id)
        })
      )
    })

    it.effect("a schedule row runs as its registrant, with its tick as the event, as a root; gone, principal_revoked", () => {
      const sandbox = fakeSandbox(() => Effect.succeed(ok))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a")
          const job = scheduleJob()
          const orphan = scheduleJob({ registrant: "0b4f34e0-0000-4000-8000-00000000dead", retry: fivePolicy })
          yield* outbox.enqueueAll([job, orphan])
          yield* settle
          assert.strictEqual(sandbox.state.requests.length, 1, "the orphan is never run")
          const [request] = sandbox.state.requests
          assert.deepStrictEqual(
            [request?.invocation, request?.request, request?.event, request?.principal, request?.triggerDepth],
            ["schedule", null, tick, { user_id: registrant.user_id, username: "registrant", role: "developer" }, 0]
          )
          assert.strictEqual(request?.rootExecutionId, job.id)
          const record = yield* log.get(job.id)
          assert.deepStrictEqual([record.status, record.invocation], ["succeeded", "schedule"])
          const dead = Option.getOrThrow(yield* outbox.findDeadLetter(orphan.id))
          assert.deepStrictEqual([dead.error.code, dead.attempts, dead.invocation, dead.event], [
            "principal_revoked",
            1,
            "schedule",
            tick
          ])
          assert.include(dead.error.message, "schedule's registrant")
        })
      )
    })

    it.effect("a row deeper than PICLOUD_MAX_TRIGGER_DEPTH is not run, retried nor dead-lettered: it is recorded as depth_exceeded", () => {
      const sandbox = fakeSandbox(() => Effect.succeed(ok))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a", { PICLOUD_MAX_TRIGGER_DEPTH: "2" })
          const atLimit = kvJob(2, { retry: fivePolicy })
          const tooDeep = kvJob(3, { retry: fivePolicy, handler: script.id })
          yield* outbox.enqueueAll([atLimit, tooDeep])
          yield* settle
          assert.strictEqual(sandbox.state.requests.length, 1, "only the row at the limit runs")
          assert.strictEqual(sandbox.state.requests[0]?.executionId, atLimit.id)
          const record = yield* log.get(tooDeep.id)
          assert.deepStrictEqual([record.status, record.error?.code, record.trigger_depth, record.attempts], [
            "depth_exceeded",
            "depth_exceeded",
            3,
            1
          ])
          assert.isTrue(Option.isNone(yield* outbox.find(tooDeep.id)), "its row is gone")
          assert.isTrue(Option.isNone(yield* outbox.findDeadLetter(tooDeep.id)), "no dead letter")
          assert.deepStrictEqual(yield* outbox.queuedChildren([tooDeep.id], 10), [], "no handler")
          yield* TestClock.adjust("1 hour")
          assert.strictEqual(sandbox.state.requests.length, 1, "never run later")
        })
      )
    })

    it.effect("a KV row whose registrant is gone is dead-lettered at once with principal_revoked, never run", () => {
      const sandbox = fakeSandbox(() => Effect.succeed(ok))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a")
          const job = kvJob(1, { registrant: "0b4f34e0-0000-4000-8000-00000000dead", retry: fivePolicy })
          yield* outbox.enqueueAll([job])
          yield* settle
          assert.deepStrictEqual(sandbox.state.requests, [])
          const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
          assert.deepStrictEqual([dead.error.code, dead.attempts, dead.invocation, dead.event, dead.request], [
            "principal_revoked",
            1,
            "kv",
            event,
            null
          ])
          assert.strictEqual((yield* log.get(job.id)).status, "dead_lettered")
          yield* TestClock.adjust("1 hour")
          assert.deepStrictEqual(sandbox.state.requests, [], "no retry")
        })
      )
    })

    it.effect("a dead-lettered execution's handler row is written with its dead letter and run once, as its caller, with the dead letter as its event; success resolves it handled", () => {
      const sandbox = fakeSandbox((_, __, request) =>
        request.invocation === "dead_letter" ? Effect.succeed(ok) : Effect.fail(boom)
      )
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a")
          const caller: Principal = { user_id: "u-1", username: "caller", role: "invoker", apps: [DEFAULT_APP_ID] }
          const base = newJob(onceOnly, 30, script.id)
          const job: NewJob = base.kind === "http" ? { ...base, payload: { ...base.payload, principal: caller } } : base
          yield* outbox.enqueue(job)
          yield* settle
          assert.deepStrictEqual(sandbox.state.requests.map((r) => r.invocation), ["http", "dead_letter"])
          const handlerRequest = sandbox.state.requests[1]!
          const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
          const { replayed_as: _r, resolution: _s, resolution_error: _e, ...seen } = dead
          assert.deepStrictEqual(handlerRequest.event, { dead_letter: seen })
          assert.deepStrictEqual(seen.error, { code: "script_error", message: "boom" })
          assert.isNull(handlerRequest.request)
          assert.deepStrictEqual(handlerRequest.principal, { user_id: "u-1", username: "caller", role: "invoker" })
          assert.strictEqual(handlerRequest.rootExecutionId, job.id)
          assert.strictEqual(handlerRequest.triggerDepth, 0)
          assert.deepStrictEqual([dead.resolution, dead.resolution_error], ["handled", null])

          const handlerRecord = yield* log.get(handlerRequest.executionId)
          assert.deepStrictEqual(
            [
              handlerRecord.status,
              handlerRecord.invocation,
              handlerRecord.parent_execution_id,
              handlerRecord.root_execution_id
            ],
            ["succeeded", "dead_letter", job.id, job.id]
          )
          assert.strictEqual((yield* log.get(job.id)).status, "dead_lettered")
        })
      )
    })

    it.effect("a failing handler is not retried nor dead-lettered: its dead letter is resolved handler_failed with its error", () => {
      const sandbox = fakeSandbox(() => Effect.fail(boom))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          yield* startDispatcher("node-a")
          const job = kvJob(1, { registrant: "0b4f34e0-0000-4000-8000-00000000dead", handler: script.id })
          yield* outbox.enqueueAll([job])
          yield* settle
          // The trigger never ran (its registrant is gone); its handler ran once, as nobody.
          assert.deepStrictEqual(sandbox.state.requests.map((r) => r.invocation), ["dead_letter"])
          const handlerRequest = sandbox.state.requests[0]!
          assert.isNull(handlerRequest.principal)
          assert.strictEqual(handlerRequest.triggerDepth, 1)
          assert.strictEqual(handlerRequest.rootExecutionId, job.lineage.root_execution_id)
          const dead = Option.getOrThrow(yield* outbox.findDeadLetter(job.id))
          assert.deepStrictEqual([dead.resolution, dead.resolution_error], ["handler_failed", {
            code: "script_error",
            message: "boom"
          }])
          const handlerRecord = yield* log.get(handlerRequest.executionId)
          assert.deepStrictEqual([handlerRecord.status, handlerRecord.error?.code], ["failed", "script_error"])
          assert.isTrue(Option.isNone(yield* outbox.find(handlerRequest.executionId)), "its row is gone")
          assert.isTrue(Option.isNone(yield* outbox.findDeadLetter(handlerRequest.executionId)), "never dead-lettered")

          yield* TestClock.adjust("1 hour")
          assert.strictEqual(sandbox.state.requests.length, 1, "never run again")
        })
      )
    })
  })

  describe("shutdown", () => {
    /** One execution running on node-a when its dispatcher starts to stop, 1 ms short of the drain timeout. */
    const stopWhileRunning = (sandbox: ReturnType<typeof fakeSandbox>) =>
      Effect.gen(function*() {
        const outbox = yield* OutboxRepo
        const stop = yield* startDispatcher("node-a")
        const job = newJob(onceOnly, 30)
        yield* outbox.enqueue(job)
        yield* settle
        assert.deepStrictEqual(sandbox.state.runs, [0])
        const stopping = yield* stop.pipe(Effect.forkChild)
        yield* settle
        yield* TestClock.adjust("9999 millis")
        return { job, stopping }
      })

    it.effect("waits for a running execution within the drain timeout, and the execution ends its row", () => {
      const sandbox = fakeSandbox((_, blocked) => blocked)
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          const { job, stopping } = yield* stopWhileRunning(sandbox)
          assert.isUndefined(stopping.pollUnsafe(), "shutdown is still waiting for the execution")
          yield* sandbox.unblock
          yield* Fiber.join(stopping)

          assert.strictEqual(sandbox.state.interrupted, 0)
          assert.isTrue(Option.isNone(yield* outbox.find(job.id)))
          const record = yield* log.get(job.id)
          assert.strictEqual(record.status, "succeeded")
          assert.strictEqual(record.attempts, 1)
        })
      )
    })

    it.effect("an execution still running at the drain timeout is stopped and its claim released, so it runs again at once", () => {
      const sandbox = fakeSandbox((run, blocked) => (run === 1 ? blocked : Effect.succeed(ok)))
      return withSandbox(
        sandbox,
        Effect.gen(function*() {
          const outbox = yield* OutboxRepo
          const log = yield* ExecutionLog
          const { job, stopping } = yield* stopWhileRunning(sandbox)
          assert.isUndefined(stopping.pollUnsafe(), "shutdown waits the whole drain timeout")
          assert.strictEqual(sandbox.state.interrupted, 0)
          yield* TestClock.adjust("1 millis")
          yield* Fiber.join(stopping)
          assert.strictEqual(sandbox.state.interrupted, 1)

          const released = Option.getOrThrow(yield* outbox.find(job.id))
          assert.isNull(released.claimed_by)
          assert.isNull(released.claimed_until)
          assert.strictEqual(released.attempt_count, 1)
          assert.isTrue(
            Option.isNone(yield* log.get(job.id).pipe(Effect.option)),
            "an interrupted async attempt leaves no record"
          )

          // Another node need not wait for the 30 s lease: the row is claimable now.
          yield* startDispatcher("node-b")
          assert.deepStrictEqual(sandbox.state.runs, [0, 10_000])
          const record = yield* log.get(job.id)
          assert.strictEqual(record.status, "succeeded")
          assert.strictEqual(record.attempts, 2)
        })
      )
    })
  })
})
