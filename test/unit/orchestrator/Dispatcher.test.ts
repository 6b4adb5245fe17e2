import { assert, describe, it } from "@effect/vitest"
import { Clock, ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as TransactionsMemory from "../../../src/db/TransactionsMemory.ts"
import { DEFAULT_APP_ID, DEFAULT_APP_NAME } from "../../../src/domain/App.ts"
import { AppEnv } from "../../../src/domain/AppEnv.ts"
import { ExecError, type ExecResponse } from "../../../src/domain/Exec.ts"
import { ExecutionLog } from "../../../src/domain/ExecutionLog.ts"
import { Executor } from "../../../src/domain/Executor.ts"
import type { ExecutionId, ScriptId } from "../../../src/domain/Ids.ts"
import { type NewJob, OutboxRepo } from "../../../src/domain/OutboxRepo.ts"
import type { RetryPolicy } from "../../../src/domain/RetryPolicy.ts"
import { ScriptWithSource } from "../../../src/domain/Script.ts"
import { uuidv7 } from "../../../src/domain/uuidv7.ts"
import * as KvStoreMemory from "../../../src/manager/KvStoreMemory.ts"
import * as Dispatcher from "../../../src/orchestrator/Dispatcher.ts"
import * as DispatcherWakeLocal from "../../../src/orchestrator/DispatcherWakeLocal.ts"
import { ExecutionGate } from "../../../src/orchestrator/ExecutionGate.ts"
import * as ExecutionLogMemory from "../../../src/orchestrator/ExecutionLogMemory.ts"
import * as InboxResolverLocal from "../../../src/orchestrator/InboxResolverLocal.ts"
import { Invoker } from "../../../src/orchestrator/Invoker.ts"
import { KvCommit } from "../../../src/orchestrator/KvCommit.ts"
import * as OutboxRepoMemory from "../../../src/orchestrator/OutboxRepoMemory.ts"
import { ScriptCache } from "../../../src/orchestrator/ScriptCache.ts"

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

const ok: ExecResponse = { statusCode: 200, headers: {}, body: "ok", logs: [], logsTruncated: false, durationMs: 1 }
const boom = new ExecError({ reason: "ScriptThrew", message: "boom", logs: [], logsTruncated: false, durationMs: 1 })

/**
 * The sandbox, faked. Each run is noted with the test clock's time (`runs`), then does what `behave`
 * says for that run (numbered from 1): `blocked` is a run that succeeds once `unblock` is called.
 * `interrupted` counts runs stopped before they ended.
 */
const fakeSandbox = (
  behave: (run: number, blocked: Effect.Effect<ExecResponse>) => Effect.Effect<ExecResponse, ExecError>
) => {
  const runs: Array<number> = []
  const state = { runs, interrupted: 0 }
  const held = Deferred.makeUnsafe<void>()
  const blocked = Deferred.await(held).pipe(Effect.as(ok))
  const layer = Layer.succeed(
    Executor,
    Executor.of({
      execute: () =>
        Effect.gen(function*() {
          runs.push(yield* Clock.currentTimeMillis)
          return yield* behave(runs.length, blocked)
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => state.interrupted++)))
    })
  )
  return { state, layer, unblock: Deferred.succeed(held, undefined) }
}

/**
 * The dispatcher's surroundings, all in memory; the executor is the test's. The gate has the default
 * 32 permits, a full claim batch: no claim here is cut short by the gate.
 */
const surroundings = (executor: Layer.Layer<Executor>) =>
  Layer.mergeAll(
    Invoker.layer.pipe(Layer.provide([executor, noSecrets])),
    OutboxRepoMemory.layer,
    InboxResolverLocal.layer,
    Layer.effect(ExecutionGate, ExecutionGate.make(32)),
    oneScript
  ).pipe(
    Layer.provideMerge(KvCommit.layer),
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
const startDispatcher = (nodeId: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Scope.Scope)
    const config = ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_NODE_ID: nodeId }))
    yield* Layer.buildWithScope(Layer.fresh(Dispatcher.layer).pipe(Layer.provide(config)), scope)
    yield* settle
    return Scope.close(scope, Exit.void)
  })

const newJob = (retry: RetryPolicy, lease_seconds: number): NewJob => ({
  id: uuidv7() as ExecutionId,
  app_id: DEFAULT_APP_ID,
  script_id: script.id,
  kind: "http",
  payload: {
    request: { method: "POST", path: "/default/job", params: {}, query: {}, headers: {}, body: "" },
    principal: null
  },
  retry,
  lease_seconds,
  accepted_at: new Date(0).toISOString()
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
