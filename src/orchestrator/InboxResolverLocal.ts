import { Deferred, Effect, Layer } from "effect"
import { InboxResolver } from "../domain/InboxResolver.ts"

/** In-process inbox: a map from execution id to the deferreds of the callers waiting on it. */
export const layer = Layer.sync(InboxResolver, () => {
  const waiting = new Map<string, Set<Deferred.Deferred<void>>>()

  const register = (id: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const deferred = Deferred.makeUnsafe<void>()
        const set = waiting.get(id) ?? new Set()
        set.add(deferred)
        waiting.set(id, set)
        return deferred
      }),
      (deferred) =>
        Effect.sync(() => {
          const set = waiting.get(id)
          set?.delete(deferred)
          if (set?.size === 0) waiting.delete(id)
        })
    ).pipe(Effect.map((deferred) => Deferred.await(deferred)))

  const deliver = (id: string) =>
    Effect.suspend(() => {
      const set = waiting.get(id)
      if (set === undefined) return Effect.void
      waiting.delete(id)
      return Effect.forEach(set, (deferred) => Deferred.succeed(deferred, undefined), { discard: true })
    })

  return InboxResolver.of({ register, deliver })
})
