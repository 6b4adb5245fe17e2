import { Context, type Duration, Effect, Latch } from "effect"

/** The channel a committed schedule change notifies, so schedulers in other processes look again. */
export const SCHEDULES_CHANNEL = "picloud_schedules"

/**
 * What wakes a sleeping scheduler before its next tick: a schedule changed in this process
 * (`signal`), and (SchedulerWakePg) a `NOTIFY` of a change committed by any process. Signals
 * coalesce: however many arrive while the scheduler is busy, it wakes once.
 */
export class SchedulerWake extends Context.Service<SchedulerWake, {
  readonly signal: Effect.Effect<void>
  /** Returns at the next signal (at once if one came since the last wait), or after `max`; without `max`, only at a signal. */
  readonly wait: (max: Duration.Duration | undefined) => Effect.Effect<void>
}>()("picloud/manager/SchedulerWake") {
  static readonly make = Effect.gen(function*() {
    const latch = yield* Latch.make(false)
    return SchedulerWake.of({
      signal: latch.open.pipe(Effect.asVoid),
      wait: (max) =>
        (max === undefined ? latch.await : latch.await.pipe(Effect.timeoutOption(max))).pipe(
          Effect.andThen(latch.close),
          Effect.asVoid
        )
    })
  })
}
