import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Queue } from "effect"
import { DispatcherWake, OUTBOX_CHANNEL } from "./DispatcherWake.ts"

const RELISTEN_AFTER = "2 seconds"

/**
 * In-process signals plus `LISTEN picloud_outbox` (one held connection). If the listening
 * connection drops, the dispatcher's fallback poll covers the gap while it reconnects.
 */
export const layer = Layer.effect(
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
