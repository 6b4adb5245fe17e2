import { Context, Effect, Layer, type Scope } from "effect"

/**
 * Tells whoever caches scripts that one changed (updated or deleted). Delivery is synchronous in
 * this process: once `publish` returns, every listener here has dropped the old version, so a
 * caller that updates a script and calls it next runs the new version.
 */
export class ScriptChanges extends Context.Service<ScriptChanges, {
  readonly publish: (scriptId: string) => Effect.Effect<void>
  /** Registers a listener for as long as the scope lives. */
  readonly listen: (listener: (scriptId: string) => Effect.Effect<void>) => Effect.Effect<void, never, Scope.Scope>
}>()("picloud/domain/ScriptChanges") {
  /** In-process delivery, for all-in-one and tests. */
  static readonly layerLocal = Layer.sync(ScriptChanges, () => {
    const listeners = new Set<(scriptId: string) => Effect.Effect<void>>()
    return ScriptChanges.of({
      publish: (scriptId) => Effect.forEach(listeners, (listener) => listener(scriptId), { discard: true }),
      listen: (listener) =>
        Effect.acquireRelease(
          Effect.sync(() => listeners.add(listener)),
          () => Effect.sync(() => listeners.delete(listener))
        ).pipe(Effect.asVoid)
    })
  })
}
