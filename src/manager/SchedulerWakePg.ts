import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Queue } from "effect"
import { SchedulerWake, SCHEDULES_CHANNEL } from "./SchedulerWake.ts"

const RELISTEN_AFTER = "2 seconds"

/**
 * In-process signals plus `LISTEN picloud_schedules` (one held connection): a schedule created or
 * changed by another process wakes this one's scheduler too. When the listening connection comes
 * back after a drop, the scheduler looks once, for the changes it may have missed meanwhile.
 */
export const layer = Layer.effect(
  SchedulerWake,
  Effect.gen(function*() {
    const pg = yield* PgClient.PgClient
    const wake = yield* SchedulerWake.make
    const listen = Effect.scoped(Effect.gen(function*() {
      const notifications = yield* pg.listen(SCHEDULES_CHANNEL)
      yield* wake.signal
      return yield* Effect.forever(Queue.take(notifications).pipe(Effect.andThen(wake.signal)))
    }))
    yield* listen.pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning("lost LISTEN on the schedules channel; listening again shortly", cause)
      ),
      Effect.andThen(Effect.sleep(RELISTEN_AFTER)),
      Effect.forever,
      Effect.forkScoped
    )
    return wake
  })
)
