import { Config, Context, Data, Effect, Layer, Schema } from "effect"

/** The gate was full: the caller answers 503 + Retry-After (HTTP) or puts the work back (dispatcher). */
export class Overloaded extends Data.TaggedError("Overloaded")<{
  readonly limit: number
}> {}

/**
 * The global cap on concurrent executions (ARCHITECTURE §3). Non-blocking: a full gate refuses at
 * once, there is no queue. The permit comes back however the execution ends (success, failure,
 * timeout, interruption when the client goes away).
 */
export class ExecutionGate extends Context.Service<ExecutionGate, {
  readonly run: <A, E, R>(execution: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Overloaded, R>
  readonly limit: number
  /** Permits free now: how much work the dispatcher may claim. */
  readonly available: Effect.Effect<number>
}>()("picloud/orchestrator/ExecutionGate") {
  static readonly make = (limit: number) =>
    Effect.sync(() => {
      // A counter, not a queue: a refused execution never waits, so a semaphore's waiters are not needed.
      let busy = 0
      const run = <A, E, R>(execution: Effect.Effect<A, E, R>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend((): Effect.Effect<A, E | Overloaded, R> => {
            if (busy >= limit) return Effect.fail(new Overloaded({ limit }))
            busy++
            return restore(execution).pipe(Effect.ensuring(Effect.sync(() => busy--)))
          })
        )
      return ExecutionGate.of({ run, limit, available: Effect.sync(() => limit - busy) })
    })

  static readonly layer = Layer.effect(
    ExecutionGate,
    Effect.gen(function*() {
      const limit = yield* Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), "PICLOUD_MAX_CONCURRENT_EXECUTIONS").pipe(
        Config.withDefault(32)
      )
      return yield* ExecutionGate.make(limit)
    })
  )
}
