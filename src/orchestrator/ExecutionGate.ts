import { Context, Data, Deferred, Effect, Exit, Layer } from "effect"
import * as Settings from "../config/Settings.ts"
import { gateRefused } from "./PlatformMetrics.ts"

/** The gate was full: the caller answers 503 + Retry-After. */
export class Overloaded extends Data.TaggedError("Overloaded")<{
  readonly limit: number
}> {}

/**
 * The global cap on concurrent executions (docs/ARCHITECTURE.md §3), shared by sync HTTP and the
 * dispatcher. Sync callers never wait: a full gate refuses them at once (`run`). Async executions
 * wait (`runQueued`), and a permit that comes back goes to a waiting async execution first, so
 * async work keeps moving while sync traffic holds the gate full; the dispatcher keeps at most a
 * few waiting. A permit comes back however the execution ends (success, failure, timeout,
 * interruption when the client goes away).
 */
export class ExecutionGate extends Context.Service<ExecutionGate, {
  readonly run: <A, E, R>(execution: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Overloaded, R>
  readonly runQueued: <A, E, R>(execution: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly limit: number
  /** Permits free now: how much work the dispatcher may claim. */
  readonly available: Effect.Effect<number>
  /** Async executions waiting for a permit. */
  readonly queued: Effect.Effect<number>
}>()("picloud/orchestrator/ExecutionGate") {
  static readonly make = (limit: number) =>
    Effect.sync(() => {
      let busy = 0
      const waiting: Array<Deferred.Deferred<void>> = []

      /** Hands the permit to the first waiter, or back to the pool. */
      const release = Effect.sync(() => {
        const next = waiting.shift()
        if (next === undefined) busy--
        else Deferred.doneUnsafe(next, Exit.void)
      })

      const run = <A, E, R>(execution: Effect.Effect<A, E, R>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend((): Effect.Effect<A, E | Overloaded, R> => {
            if (busy >= limit) return Effect.andThen(gateRefused, Effect.fail(new Overloaded({ limit })))
            busy++
            return restore(execution).pipe(Effect.ensuring(release))
          })
        )

      /** Waits for a permit: at once if one is free, else the next one released. */
      const acquire = Effect.suspend(() => {
        if (busy < limit) {
          busy++
          return Effect.void
        }
        const handed = Deferred.makeUnsafe<void>()
        waiting.push(handed)
        return Deferred.await(handed).pipe(
          Effect.onInterrupt(() =>
            Effect.suspend(() => {
              const at = waiting.indexOf(handed)
              if (at >= 0) {
                waiting.splice(at, 1)
                return Effect.void
              }
              // The permit was handed over as the wait was interrupted: pass it on.
              return release
            })
          )
        )
      })

      // The wait stays interruptible (shutdown); from the permit on, the release is guaranteed.
      const runQueued = <A, E, R>(execution: Effect.Effect<A, E, R>) =>
        Effect.uninterruptibleMask((restore) =>
          restore(acquire).pipe(Effect.andThen(restore(execution).pipe(Effect.ensuring(release))))
        )

      return ExecutionGate.of({
        run,
        runQueued,
        limit,
        available: Effect.sync(() => limit - busy),
        queued: Effect.sync(() => waiting.length)
      })
    })

  static readonly layer = Layer.effect(
    ExecutionGate,
    Effect.gen(function*() {
      const limit = yield* Settings.maxConcurrentExecutions.config
      return yield* ExecutionGate.make(limit)
    })
  )
}
