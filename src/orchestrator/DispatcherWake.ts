import { Context, type Duration, Effect, Latch } from "effect"

/** The channel a commit of new outbox rows notifies, so dispatchers on other nodes wake too. */
export const OUTBOX_CHANNEL = "picloud_outbox"

/**
 * What wakes a sleeping dispatcher: work accepted in this process (`signal`), and,
 * (DispatcherWakePg) a `NOTIFY` from an enqueue committed by any process on the database. Signals coalesce: however
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
}
