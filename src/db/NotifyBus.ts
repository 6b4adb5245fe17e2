import { PgClient } from "@effect/sql-pg"
import { Context, Deferred, Effect, Layer, Queue } from "effect"
import { randomUUID } from "node:crypto"

/** The channel every process of a cluster listens on for changes made by the others. */
export const CHANGES_CHANNEL = "picloud_changes"
const RELISTEN_AFTER = "2 seconds"

/**
 * Short notes between the processes sharing one PostgreSQL: `publish(kind, id)` sends a NOTIFY on
 * `picloud_changes`, and every other process runs its handlers of `kind` with `id` (a process does
 * not hear its own notes: it has handled them already). One held connection per process (LISTEN).
 * Notes are small (a kind and an id); PostgreSQL delivers them only once committed, in order. Notes
 * sent while the `LISTEN` connection is down are lost: `onGap` handlers run when it is back.
 */
export class NotifyBus extends Context.Service<NotifyBus, {
  readonly publish: (kind: string, id: string) => Effect.Effect<void>
  /** Runs `handler` for each note of `kind` from another process, for the life of the layer. */
  readonly subscribe: (kind: string, handler: (id: string) => Effect.Effect<void>) => Effect.Effect<void>
  /** Completes once this process listens (PostgreSQL confirmed its first `LISTEN`). */
  readonly listening: Effect.Effect<void>
  /**
   * Runs `handler` each time this process listens again after losing its `LISTEN` connection:
   * notes sent meanwhile were missed.
   */
  readonly onGap: (handler: Effect.Effect<void>) => Effect.Effect<void>
}>()("picloud/db/NotifyBus") {
  static readonly layer = Layer.effect(
    NotifyBus,
    Effect.gen(function*() {
      const pg = yield* PgClient.PgClient
      const origin = randomUUID()
      const handlers = new Map<string, Array<(id: string) => Effect.Effect<void>>>()
      const listening = Deferred.makeUnsafe<void>()
      const gapHandlers: Array<Effect.Effect<void>> = []
      let listenedBefore = false

      const handle = (payload: string) => {
        const [from, kind, ...rest] = payload.split(":")
        if (from === origin || kind === undefined) return Effect.void
        const id = rest.join(":")
        return Effect.forEach(handlers.get(kind) ?? [], (handler) => handler(id), { discard: true })
      }
      const listen = Effect.scoped(Effect.gen(function*() {
        const notes = yield* pg.listen(CHANGES_CHANNEL)
        yield* Deferred.succeed(listening, undefined)
        if (listenedBefore) {
          yield* Effect.logWarning("listening on the changes channel again: dropping what caches hold")
          yield* Effect.forEach(gapHandlers, (handler) => handler, { discard: true })
        }
        listenedBefore = true
        return yield* Effect.forever(Queue.take(notes).pipe(Effect.flatMap((note) => handle(note.payload))))
      }))
      yield* listen.pipe(
        Effect.catchCause((cause) =>
          Effect.logWarning(
            "lost LISTEN on the changes channel; listening again shortly (then caches are dropped: changes may have been missed)",
            cause
          )
        ),
        Effect.andThen(Effect.sleep(RELISTEN_AFTER)),
        Effect.forever,
        Effect.forkScoped
      )

      return NotifyBus.of({
        publish: (kind, id) =>
          pg.notify(CHANGES_CHANNEL, `${origin}:${kind}:${id}`).pipe(
            Effect.catch((error) =>
              Effect.logError(`could not tell the other processes of a change (${kind} ${id})`, error)
            )
          ),
        subscribe: (kind, handler) =>
          Effect.sync(() => {
            handlers.set(kind, [...(handlers.get(kind) ?? []), handler])
          }),
        listening: Deferred.await(listening),
        onGap: (handler) => Effect.sync(() => void gapHandlers.push(handler))
      })
    })
  )
}
