import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import type { ExecutionRecord } from "../../../src/domain/Execution.ts"
import { ExecutionLog } from "../../../src/domain/ExecutionLog.ts"
import type { ExecutionId, ScriptId } from "../../../src/domain/Ids.ts"
import { uuidv7 } from "../../../src/domain/uuidv7.ts"
import * as ExecutionLogMemory from "../../../src/orchestrator/ExecutionLogMemory.ts"
import { ExecutionTail, TAIL_BUFFER_COUNT, type TailEvent } from "../../../src/orchestrator/ExecutionTail.ts"
import { executionRecord } from "../../support/executionRecord.ts"

const APP = "0b4f34e0-0000-4000-8000-0000000000aa"
const OTHER_APP = "0b4f34e0-0000-4000-8000-0000000000bb"
const SCRIPT = "0b4f34e0-0000-4000-8000-0000000000cc" as ScriptId

const record = (overrides: Partial<ExecutionRecord> = {}): ExecutionRecord =>
  executionRecord({ app_id: APP, script_id: SCRIPT, logs: [{ level: "log", message: "hi", at: 0 }], ...overrides })

const everything = { appIds: undefined, scriptId: undefined, status: undefined }

const TestLayer = Layer.fresh(ExecutionTail.layer).pipe(
  Layer.provideMerge(Layer.fresh(ExecutionLogMemory.layer)),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
)

/** What a tail sent, shortened: record ids, or the end. */
const shown = (events: ReadonlyArray<TailEvent>) =>
  events.map((event) => (event._tag === "Record" ? event.id : `end:${event.reason}`))

/** Reads `n` events of the stream in the background. */
const reading = (stream: Stream.Stream<TailEvent>, n: number) =>
  stream.pipe(Stream.take(n), Stream.runCollect, Effect.forkChild)

describe("ExecutionTail", () => {
  it.effect("a tail gets each record its filter matches, in the order published, with the record as JSON", () =>
    Effect.gen(function*() {
      const tail = yield* ExecutionTail
      const failed = yield* tail.follow({ appIds: [APP], scriptId: SCRIPT, status: "failed" }, undefined)
      const all = yield* tail.follow(everything, undefined)
      const records = [
        record({ status: "failed" }),
        record({ app_id: OTHER_APP, status: "failed" }),
        record(),
        record({ status: "failed", script_id: crypto.randomUUID() as ScriptId }),
        record({ status: "failed" })
      ]
      const readFailed = yield* reading(failed, 2)
      const readAll = yield* reading(all, 5)
      for (const r of records) yield* tail.publish(r)
      const got = yield* Fiber.join(readFailed)
      assert.deepStrictEqual(shown(got), [records[0]!.id, records[4]!.id])
      assert.deepStrictEqual(shown(yield* Fiber.join(readAll)), records.map((r) => r.id))
      const first = got[0]!
      assert.deepStrictEqual(first._tag === "Record" ? JSON.parse(first.json) : undefined, records[0])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("since a record kept in memory: exactly those published after it, then the live ones", () =>
    Effect.gen(function*() {
      const tail = yield* ExecutionTail
      const [a, b, c, d] = [record(), record({ app_id: OTHER_APP }), record(), record()]
      for (const r of [a, b, c]) yield* tail.publish(r!)
      const mine = yield* reading(yield* tail.follow({ ...everything, appIds: [APP] }, a!.id), 2)
      const all = yield* reading(yield* tail.follow(everything, a!.id.toUpperCase()), 3)
      yield* tail.publish(d!)
      assert.deepStrictEqual(shown(yield* Fiber.join(mine)), [c!.id, d!.id])
      assert.deepStrictEqual(shown(yield* Fiber.join(all)), [b!.id, c!.id, d!.id])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("since an id not kept in memory: the log's records after it (by id), then the live ones, none twice", () =>
    Effect.gen(function*() {
      const tail = yield* ExecutionTail
      const log = yield* ExecutionLog
      const since = uuidv7()
      const [x, y, z] = [record(), record(), record()]
      // Recorded before this process kept anything (a restart): only the log has them.
      const older = record({ id: since as ExecutionId })
      for (const r of [older, x, y]) yield* log.record(r!)
      const read = yield* reading(yield* tail.follow(everything, since), 3)
      // `y` was published while the replay was read: it is sent once.
      yield* tail.publish(y!)
      yield* tail.publish(z!)
      assert.deepStrictEqual(shown(yield* Fiber.join(read)), [x!.id, y!.id, z!.id])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a reader that falls behind is dropped: it gets what its tail held, then `dropped`; others go on", () =>
    Effect.gen(function*() {
      const tail = yield* ExecutionTail
      const slow = yield* tail.follow(everything, undefined)
      const other = yield* tail.follow({ ...everything, status: "failed" }, undefined)
      const records = Array.from({ length: TAIL_BUFFER_COUNT + 5 }, () => record())
      for (const r of records) yield* tail.publish(r)
      assert.strictEqual(yield* tail.open, 1)
      const got = yield* Stream.runCollect(slow)
      assert.deepStrictEqual(shown(got), [...records.slice(0, TAIL_BUFFER_COUNT).map((r) => r.id), "end:dropped"])
      const late = record({ status: "failed" })
      const read = yield* reading(other, 1)
      yield* tail.publish(late)
      assert.deepStrictEqual(shown(yield* Fiber.join(read)), [late.id])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a tail is bounded in bytes too: records with large logs drop a reader sooner", () =>
    Effect.gen(function*() {
      const tail = yield* ExecutionTail
      const slow = yield* tail.follow(everything, undefined)
      const big = () => record({ logs: [{ level: "log", message: "x".repeat(1024 * 1024), at: 0 }] })
      const records = Array.from({ length: 6 }, big)
      for (const r of records) yield* tail.publish(r)
      const got = shown(yield* Stream.runCollect(slow))
      assert.isBelow(got.length, 6)
      assert.strictEqual(got.at(-1), "end:dropped")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("end: each tail sends what it holds, then `shutdown`; a tail opened after ends at once", () =>
    Effect.gen(function*() {
      const tail = yield* ExecutionTail
      const open = yield* tail.follow(everything, undefined)
      const r = record()
      yield* tail.publish(r)
      yield* tail.end
      assert.deepStrictEqual(shown(yield* Stream.runCollect(open)), [r.id, "end:shutdown"])
      const later = yield* tail.follow(everything, undefined)
      assert.deepStrictEqual(shown(yield* Stream.runCollect(later)), ["end:shutdown"])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a tail closes with its reader's scope", () =>
    Effect.gen(function*() {
      const tail = yield* ExecutionTail
      const scope = yield* Scope.make()
      yield* tail.follow(everything, undefined).pipe(Scope.provide(scope))
      assert.strictEqual(yield* tail.open, 1)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* tail.open, 0)
    }).pipe(Effect.provide(TestLayer)))
})
