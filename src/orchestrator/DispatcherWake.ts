import { PgClient } from "@effect/sql-pg"
import { Context, type Duration, Effect, Latch, Layer, Queue } from "effect"

/** The channel a commit of new outbox rows notifies, so dispatchers on other nodes wake too. */
export const OUTBOX_CHANNEL = "picloud_outbox"

const RELISTEN_AFTER = "2 seconds"

/**
 * What wakes a sleeping dispatcher: work accepted in this process (`signal`), and, with `layerPg`,
 * a `NOTIFY` from an enqueue committed by any process on the database. Signals coalesce: however
 * many arrive while the dispatcher is busy, it wakes once.
 */
export class DispatcherWake extends Context.Service<DispatcherWake, {
  readonly signal: Effect.Effect<void>
  /** Returns at the next signal (at once if one came since the last wait), or after `max`. */
  readonly wait: (max: Duration.Duration) => Effect.Effect<void>
}>()("picloud/orchestrator/DispatcherWake") {
  static readonly make = Effect.gen(function*() {
    const latch = yield* Latch.make(false)
    return DispatcherWake.of({
      signal: latch.open.pipe(Effect.asVoid),
      wait: (max) => latch.await.pipe(Effect.timeoutOption(max), Effect.andThen(latch.close), Effect.asVoid)
    })
  })

  /** In-process signals only (memory platform, tests). */
  static readonly layerLocal = Layer.effect(DispatcherWake, DispatcherWake.make)

  /**
   * In-process signals plus `LISTEN picloud_outbox` (one held connection). If the listening
   * connection drops, the dispatcher's fallback poll covers the gap while it reconnects.
   */
  static readonly layerPg = Layer.effect(
    DispatcherWake,
    Effect.gen(function*() {
      const pg = yield* PgClient.PgClient
      const wake = yield* DispatcherWake.make
      const listen = Effect.scoped(Effect.gen(function*() {
        const notifications = yield* pg.listen(OUTBOX_CHANNEL)
        // Notifications may have been missed while not listening: look once.
        yield* wake.signal
        return yield* Effect.forever(Queue.take(notifications).pipe(Effect.andThen(wake.signal)))
      }))
      yield* listen.pipe(
        Effect.catchCause((cause) =>
          Effect.logWarning("lost LISTEN on the outbox channel; listening again shortly", cause)
        ),
        Effect.andThen(Effect.sleep(RELISTEN_AFTER)),
        Effect.forever,
        Effect.forkScoped
      )
      return wake
    })
  )
}
