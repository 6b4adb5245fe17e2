import { Cache, Context, Duration, Effect, Exit, Layer } from "effect"
import { EVERYTHING } from "../domain/ChangeFeed.ts"
import type { PersistenceError } from "../domain/Errors.ts"
import { compileKeyPattern, type KeyMatcher } from "../domain/KeyPattern.ts"
import type { Trigger, TriggerOp } from "../domain/Trigger.ts"
import { TriggerChanges } from "../domain/TriggerChanges.ts"
import { TriggerRepo } from "../domain/TriggerRepo.ts"

/** Apps whose triggers are held at once; past it, the least recently used app's are dropped (and read again when needed). */
const MAX_APPS = 10_000

interface CompiledTrigger {
  readonly trigger: Trigger
  readonly matcher: KeyMatcher
}

/**
 * Each app's enabled triggers, in memory, with their key patterns compiled, so matching a KV write
 * makes no database round trip. An app's are read on its first write (an app without triggers
 * is remembered as such) and dropped when `TriggerChanges` reports them changed, before the admin
 * call returns; the next write reads them again. A read that was under way when they changed is
 * not kept. A failed read is not kept either: the next write tries again.
 */
export class TriggerTable extends Context.Service<TriggerTable, {
  /**
   * The app's enabled triggers for `op` whose pattern matches `key`, oldest first. The first call
   * for an app (and the first after a change) reads them on a connection of its own: call it
   * before opening the transaction that commits the write, not inside it.
   */
  readonly matching: (
    appId: string,
    key: string,
    op: TriggerOp
  ) => Effect.Effect<ReadonlyArray<Trigger>, PersistenceError>
}>()("picloud/orchestrator/TriggerTable") {
  static readonly layer = Layer.effect(
    TriggerTable,
    Effect.gen(function*() {
      const triggers = yield* TriggerRepo
      const changes = yield* TriggerChanges
      const context = yield* Effect.context<never>()

      // The read runs in the table's own context (replaced, not merged: `provideContext` would keep
      // a caller's transaction), never on a caller's transaction: one read serves every caller
      // waiting for that app and may outlive the one that started it, and so its connection.
      const load = (appId: string) =>
        triggers.list(appId).pipe(
          Effect.updateContext((_: Context.Context<never>) => context),
          Effect.map((list) =>
            list.flatMap((trigger): ReadonlyArray<CompiledTrigger> => {
              if (!trigger.enabled) return []
              // Stored patterns were checked when written; one that no longer compiles matches nothing.
              const matcher = compileKeyPattern(trigger.key_pattern)
              return typeof matcher === "string" ? [] : [{ trigger, matcher }]
            })
          )
        )
      const table = yield* Cache.makeWith(load, {
        capacity: MAX_APPS,
        timeToLive: (exit) => (Exit.isSuccess(exit) ? Duration.infinity : Duration.zero)
      })

      yield* changes.listen((appId) =>
        appId === EVERYTHING ? Cache.invalidateAll(table) : Cache.invalidate(table, appId)
      )

      // Untraced: it runs on every KV write, where a span per call is measurable cost.
      const matching = Effect.fnUntraced(function*(appId: string, key: string, op: TriggerOp) {
        const compiled = yield* Cache.get(table, appId)
        if (compiled.length === 0) return []
        const segments = key.split("/")
        return compiled.flatMap(({ matcher, trigger }) =>
          trigger.ops.includes(op) && matcher.matches(key, segments) ? [trigger] : []
        )
      })
      return TriggerTable.of({ matching })
    })
  )
}
