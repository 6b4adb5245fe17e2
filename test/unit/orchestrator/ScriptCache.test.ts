import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import { DEFAULT_APP_ID } from "../../../src/domain/App.ts"
import { EVERYTHING } from "../../../src/domain/ChangeFeed.ts"
import type { ScriptId } from "../../../src/domain/Ids.ts"
import { ScriptWithSource } from "../../../src/domain/Script.ts"
import { ScriptChanges } from "../../../src/domain/ScriptChanges.ts"
import { ScriptRepo } from "../../../src/domain/ScriptRepo.ts"
import * as AppRepoMemory from "../../../src/manager/AppRepoMemory.ts"
import { ScriptCache } from "../../../src/orchestrator/ScriptCache.ts"

const script = (version: number) =>
  new ScriptWithSource({
    id: "0b4f34e0-0000-4000-8000-000000000001" as ScriptId,
    app_id: DEFAULT_APP_ID,
    name: "s",
    version,
    timeout_seconds: 30,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    source: `export default () => ${version}`
  })

/** A repository whose `findByRef` counts its calls and answers with the current version. */
const countingRepo = (state: { version: number; reads: number; gate?: Deferred.Deferred<void> }) =>
  Layer.succeed(
    ScriptRepo,
    ScriptRepo.of({
      findByRef: (_app, ref) =>
        Effect.gen(function*() {
          const version = state.version
          state.reads++
          if (state.gate) yield* Deferred.await(state.gate)
          return ref === "s" || ref === script(1).id ? Option.some(script(version)) : Option.none()
        }),
      create: () => Effect.die("unused"),
      list: () => Effect.die("unused"),
      get: () => Effect.die("unused"),
      find: () => Effect.die("unused"),
      update: () => Effect.die("unused"),
      delete: () => Effect.die("unused")
    })
  )

const provide = (state: Parameters<typeof countingRepo>[0]) =>
  Effect.provide(
    ScriptCache.layer.pipe(
      Layer.provideMerge(Layer.mergeAll(countingRepo(state), ScriptChanges.layer, AppRepoMemory.layer))
    )
  )

describe("ScriptCache", () => {
  it.effect("reads the repository once per reference, then serves from memory", () => {
    const state = { version: 1, reads: 0 }
    return Effect.gen(function*() {
      const cache = yield* ScriptCache
      for (let i = 0; i < 5; i++) {
        assert.strictEqual(Option.getOrThrow(yield* cache.resolve(undefined, "s")).script.version, 1)
      }
      assert.strictEqual(state.reads, 1)
    }).pipe(provide(state))
  })

  it.effect("a change drops every cached reference to that script before publish returns", () => {
    const state = { version: 1, reads: 0 }
    return Effect.gen(function*() {
      const cache = yield* ScriptCache
      const changes = yield* ScriptChanges
      yield* cache.resolve(undefined, "s")
      yield* cache.resolve(undefined, script(1).id)
      state.version = 2
      yield* changes.publish(script(1).id)
      assert.strictEqual(Option.getOrThrow(yield* cache.resolve(undefined, "s")).script.version, 2)
      assert.strictEqual(Option.getOrThrow(yield* cache.resolve(undefined, script(1).id)).script.version, 2)
      assert.strictEqual(state.reads, 4)
    }).pipe(provide(state))
  })

  it.effect("a change of everything (after a gap in a cluster's delivery) drops every entry", () => {
    const state = { version: 1, reads: 0 }
    return Effect.gen(function*() {
      const cache = yield* ScriptCache
      yield* cache.resolve(undefined, "s")
      yield* cache.resolve(undefined, script(1).id)
      state.version = 2
      yield* (yield* ScriptChanges).publish(EVERYTHING)
      assert.strictEqual(Option.getOrThrow(yield* cache.resolve(undefined, "s")).script.version, 2)
      assert.strictEqual(Option.getOrThrow(yield* cache.resolve(undefined, script(1).id)).script.version, 2)
      assert.strictEqual(state.reads, 4)
    }).pipe(provide(state))
  })

  it.effect("misses are not cached: a script created later is found at once", () => {
    const state = { version: 1, reads: 0 }
    return Effect.gen(function*() {
      const cache = yield* ScriptCache
      assert.isTrue(Option.isNone(yield* cache.resolve(undefined, "other")))
      assert.isTrue(Option.isNone(yield* cache.resolve(undefined, "other")))
      assert.strictEqual(state.reads, 2)
    }).pipe(provide(state))
  })

  it.effect("a read that started before a change does not store the old version", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const state = { version: 1, reads: 0, gate }
      yield* Effect.gen(function*() {
        const cache = yield* ScriptCache
        const changes = yield* ScriptChanges
        const slow = yield* cache.resolve(undefined, "s").pipe(Effect.forkChild)
        yield* Effect.yieldNow
        state.version = 2
        yield* changes.publish(script(1).id)
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(Option.getOrThrow(yield* Fiber.join(slow)).script.version, 1)
        assert.strictEqual(Option.getOrThrow(yield* cache.resolve(undefined, "s")).script.version, 2)
      }).pipe(provide(state))
    }))
})
