import { Effect, type Scope } from "effect"

/**
 * The change of everything a feed covers: listeners drop all they hold. Sent after a gap in
 * delivery (a cluster process that lost its `LISTEN` for a while may have missed changes). Never an
 * id: ids are UUIDs.
 */
export const EVERYTHING = "*"

/**
 * Synchronous, in-process change delivery: once `publish` returns, every listener has handled the
 * change, so a caller that changes something and uses it next sees the new state.
 */
export interface ChangeFeed<A> {
  readonly publish: (change: A) => Effect.Effect<void>
  /** Registers a listener for as long as the scope lives. */
  readonly listen: (listener: (change: A) => Effect.Effect<void>) => Effect.Effect<void, never, Scope.Scope>
}

export const makeLocalFeed = <A>(): ChangeFeed<A> => {
  const listeners = new Set<(change: A) => Effect.Effect<void>>()
  return {
    publish: (change) => Effect.forEach(listeners, (listener) => listener(change), { discard: true }),
    listen: (listener) =>
      Effect.acquireRelease(
        Effect.sync(() => listeners.add(listener)),
        () => Effect.sync(() => listeners.delete(listener))
      ).pipe(Effect.asVoid)
  }
}
