import { Config, Context, Data, Effect, Layer, Option, Schema, Semaphore } from "effect"

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
}>()("picloud/orchestrator/ExecutionGate") {
  static readonly make = (limit: number) =>
    Effect.gen(function*() {
      const permits = yield* Semaphore.make(limit)
      const run = <A, E, R>(execution: Effect.Effect<A, E, R>) =>
        permits.withPermitsIfAvailable(1)(execution).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new Overloaded({ limit })),
            onSome: Effect.succeed
          }))
        )
      return ExecutionGate.of({ run, limit })
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
