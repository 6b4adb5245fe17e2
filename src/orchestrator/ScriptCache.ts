import { Context, Effect, Layer, Option } from "effect"
import type { PersistenceError } from "../domain/Errors.ts"
import type { ScriptWithSource } from "../domain/Script.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { ScriptRepo } from "../domain/ScriptRepo.ts"

const MAX_ENTRIES = 10_000

/**
 * Resolved scripts by reference (id or name), so the data plane's hot path makes no database round
 * trip. Entries are dropped when `ScriptChanges` reports their script changed; misses are not
 * cached, so a script created a moment ago is found at once.
 */
export class ScriptCache extends Context.Service<ScriptCache, {
  readonly resolve: (ref: string) => Effect.Effect<Option.Option<ScriptWithSource>, PersistenceError>
}>()("picloud/orchestrator/ScriptCache") {
  static readonly layer = Layer.effect(
    ScriptCache,
    Effect.gen(function*() {
      const repo = yield* ScriptRepo
      const changes = yield* ScriptChanges
      const entries = new Map<string, ScriptWithSource>()
      // Bumped on every change: a lookup that started before a change must not store what it read.
      let generation = 0

      yield* changes.listen((scriptId) =>
        Effect.sync(() => {
          generation++
          for (const [ref, script] of entries) if (script.id === scriptId) entries.delete(ref)
        })
      )

      const resolve = Effect.fnUntraced(function*(ref: string) {
        const cached = entries.get(ref)
        if (cached !== undefined) return Option.some(cached)
        const startedAt = generation
        const found = yield* repo.findByRef(ref)
        if (Option.isSome(found) && startedAt === generation) {
          if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!)
          entries.set(ref, found.value)
        }
        return found
      })
      return ScriptCache.of({ resolve })
    })
  )
}
