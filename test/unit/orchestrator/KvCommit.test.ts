import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { DEFAULT_APP_ID } from "../../../src/domain/App.ts"
import { KvStore } from "../../../src/domain/KvStore.ts"
import { Transactions } from "../../../src/domain/Transactions.ts"
import * as AppRepoMemory from "../../../src/manager/AppRepoMemory.ts"
import * as KvStoreMemory from "../../../src/manager/KvStoreMemory.ts"
import * as DispatcherWakeLocal from "../../../src/orchestrator/DispatcherWakeLocal.ts"
import * as ExecutionLogMemory from "../../../src/orchestrator/ExecutionLogMemory.ts"
import { KvCommit } from "../../../src/orchestrator/KvCommit.ts"
import * as OutboxRepoMemory from "../../../src/orchestrator/OutboxRepoMemory.ts"
import { PlatformMetrics } from "../../../src/orchestrator/PlatformMetrics.ts"
import { ScriptCache } from "../../../src/orchestrator/ScriptCache.ts"
import { TriggerTable } from "../../../src/orchestrator/TriggerTable.ts"

/**
 * Whether each trigger match was asked inside a transaction. A match may read on a connection of
 * its own (an app's first write); asked inside a transaction, that read waits while the
 * transaction holds a pooled connection, and a burst of such waits deadlocks the pool.
 */
const asked: Array<boolean> = []
let inTransaction = false

const transactions = Layer.succeed(
  Transactions,
  Transactions.of({
    atomically: (effect) =>
      Effect.acquireUseRelease(
        Effect.sync(() => (inTransaction = true)),
        () => effect,
        () => Effect.sync(() => (inTransaction = false))
      )
  })
)
const triggers = Layer.succeed(
  TriggerTable,
  TriggerTable.of({ matching: () => Effect.sync(() => asked.push(inTransaction)).pipe(Effect.as([])) })
)
const noScripts = Layer.succeed(ScriptCache, ScriptCache.of({ resolve: () => Effect.succeed(Option.none()) }))

const layer = KvCommit.layer.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      KvStoreMemory.layer,
      transactions,
      triggers,
      noScripts,
      OutboxRepoMemory.layer.pipe(Layer.provide([ExecutionLogMemory.layer, DispatcherWakeLocal.layer])),
      PlatformMetrics.layer.pipe(Layer.provide(AppRepoMemory.layer))
    )
  )
)

describe("KvCommit.prepare", () => {
  it.effect("matches the writes' triggers before the caller's transaction, which then only writes", () =>
    Effect.gen(function*() {
      asked.length = 0
      const kvCommit = yield* KvCommit
      const write = yield* kvCommit.prepare(DEFAULT_APP_ID, [{ op: "set", key: "a", value: 1 }], null)
      assert.deepStrictEqual(asked, [false])
      const changes = yield* (yield* Transactions).atomically(write)
      assert.deepStrictEqual(asked, [false], "no match is asked inside the transaction")
      assert.deepStrictEqual(changes.map((c) => [c.key, c.version]), [["a", 1]])
      const entry = yield* (yield* KvStore).get(DEFAULT_APP_ID, "a")
      assert.deepStrictEqual(Option.map(entry, (e) => e.value), Option.some(1))
    }).pipe(Effect.provide(layer)))
})
