import { Context, Effect, Layer, Option } from "effect"
import { type App, DEFAULT_APP_NAME } from "../domain/App.ts"
import { AppRepo } from "../domain/AppRepo.ts"
import { EVERYTHING } from "../domain/ChangeFeed.ts"
import type { PersistenceError } from "../domain/Errors.ts"
import type { ScriptWithSource } from "../domain/Script.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { ScriptRepo } from "../domain/ScriptRepo.ts"

const MAX_ENTRIES = 10_000

/** A script ready to run, with the app it belongs to. */
export interface ResolvedScript {
  readonly script: ScriptWithSource
  readonly app: App
}

/**
 * Resolved scripts by reference (`{app}/{id-or-name}`), so the data plane's hot path makes no
 * database round trip. Entries are dropped when `ScriptChanges` reports their script changed
 * (deleting an app reports each of its scripts); misses are not cached, so a script created a
 * moment ago is found at once.
 */
export class ScriptCache extends Context.Service<ScriptCache, {
  /** `appRef` (name or id) defaults to the default app; a script id finds the script in any app. */
  readonly resolve: (
    appRef: string | undefined,
    ref: string
  ) => Effect.Effect<Option.Option<ResolvedScript>, PersistenceError>
}>()("picloud/orchestrator/ScriptCache") {
  static readonly layer = Layer.effect(
    ScriptCache,
    Effect.gen(function*() {
      const scripts = yield* ScriptRepo
      const apps = yield* AppRepo
      const changes = yield* ScriptChanges
      const entries = new Map<string, ResolvedScript>()
      // Bumped on every change: a lookup that started before a change must not store what it read.
      let generation = 0

      yield* changes.listen((scriptId) =>
        Effect.sync(() => {
          generation++
          if (scriptId === EVERYTHING) return entries.clear()
          for (const [key, entry] of entries) if (entry.script.id === scriptId) entries.delete(key)
        })
      )

      const lookup = (appRef: string, ref: string) =>
        Effect.gen(function*() {
          const app = yield* apps.findByRef(appRef)
          if (Option.isNone(app)) return Option.none<ResolvedScript>()
          const script = yield* scripts.findByRef(app.value.id, ref)
          if (Option.isNone(script)) return Option.none<ResolvedScript>()
          // A script id reaches its script in any app; say which app it is in.
          if (script.value.app_id === app.value.id) return Option.some({ script: script.value, app: app.value })
          const owner = yield* apps.findByRef(script.value.app_id)
          return Option.map(owner, (owner) => ({ script: script.value, app: owner }))
        })

      // Untraced: it runs on every request of the data plane, where a span per call is measurable cost.
      const resolve = Effect.fnUntraced(function*(appRef: string | undefined, ref: string) {
        const key = `${appRef ?? DEFAULT_APP_NAME}/${ref}`
        const cached = entries.get(key)
        if (cached !== undefined) return Option.some(cached)
        const startedAt = generation
        const found = yield* lookup(appRef ?? DEFAULT_APP_NAME, ref)
        if (Option.isSome(found) && startedAt === generation) {
          if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!)
          entries.set(key, found.value)
        }
        return found
      })
      return ScriptCache.of({ resolve })
    })
  )
}
