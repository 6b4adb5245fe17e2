import { PgClient } from "@effect/sql-pg"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Queue, Stream } from "effect"
import { CHANGES_CHANNEL, NotifyBus } from "../../src/db/NotifyBus.ts"
import type { ExecutionRecord } from "../../src/domain/Execution.ts"
import { ExecutionLog } from "../../src/domain/ExecutionLog.ts"
import type { ScriptId } from "../../src/domain/Ids.ts"
import { uuidv7 } from "../../src/domain/uuidv7.ts"
import * as ExecutionLogSql from "../../src/orchestrator/ExecutionLogSql.ts"
import { ExecutionTail, type TailEvent, type TailFilter } from "../../src/orchestrator/ExecutionTail.ts"
import * as ClusterDelivery from "../../src/runtime/ClusterDelivery.ts"
import { executionRecord } from "../support/executionRecord.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

const SCRIPT_A = "00000000-0000-4000-8000-00000000000a"
const SCRIPT_B = "00000000-0000-4000-8000-00000000000b"
const SECRET_LOG = "a log line that must not travel in a NOTIFY"

const execution = (scriptId: string): ExecutionRecord =>
  executionRecord({
    script_id: scriptId as ScriptId,
    logs: [{ level: "log", message: SECRET_LOG, at: 0.5 }],
    root_execution_id: crypto.randomUUID()
  })

/** One process of a cluster: its own LISTEN, its own execution log (its own batches), its tail. */
const process = (tail: typeof ClusterDelivery.tailFollowing) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Layer.fresh(
      tail.pipe(Layer.provideMerge(ClusterDelivery.layer), Layer.provideMerge(ExecutionLogSql.layer))
    ))
    yield* Context.get(context, NotifyBus).listening
    return { tail: Context.get(context, ExecutionTail), log: Context.get(context, ExecutionLog) }
  })

const everything: TailFilter = { appIds: undefined, scriptId: undefined, status: undefined }

/** A tail's records as they arrive, into `into`. */
const follow = (tail: ExecutionTail["Service"], filter: TailFilter, since?: string) =>
  Effect.gen(function*() {
    const into: Array<ExecutionRecord> = []
    const stream = yield* tail.follow(filter, since)
    yield* Stream.runForEach(stream, (event: TailEvent) =>
      Effect.sync(() => {
        if (event._tag === "Record") into.push(JSON.parse(event.json))
      })).pipe(Effect.forkScoped)
    return into
  })

/** Until `ready()` holds, checked every 20 ms, for at most `ms`. */
const eventually = (ms: number, what: string, ready: () => boolean) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (!ready()) {
      if (Date.now() - start > ms) return yield* Effect.die(new Error(`${what}: not within ${ms} ms`))
      yield* Effect.sleep("20 millis")
    }
    return Date.now() - start
  })

layer(TestDatabase, { timeout: "60 seconds", excludeTestServices: true })(
  "ClusterDelivery: the live tail across processes",
  (it) => {
    it.effect("records an orchestrator publishes reach a manager's tail within a second, whole, in order, filtered", () =>
      Effect.gen(function*() {
        const orchestrator = yield* process(ClusterDelivery.tailAnnouncing)
        const manager = yield* process(ClusterDelivery.tailFollowing)
        const all = yield* follow(manager.tail, everything)
        const onlyA = yield* follow(manager.tail, { ...everything, scriptId: SCRIPT_A })
        // As the invoker does for a sync execution: queued for the log (not written yet), then
        // published. 250 of them: more than one note's worth of ids.
        const sent = Array.from({ length: 250 }, (_, i) => execution(i % 2 === 0 ? SCRIPT_A : SCRIPT_B))
        for (const record of sent) {
          yield* orchestrator.log.record(record)
          yield* orchestrator.tail.publish(record)
        }
        const ms = yield* eventually(1000, "every record on the manager", () => all.length === sent.length)
        assert.isBelow(ms, 1000)
        assert.deepStrictEqual(all.map((record) => record.id), sent.map((record) => record.id))
        assert.deepStrictEqual(all[0], sent[0], "the whole record, logs included, read from the log")
        yield* eventually(1000, "script A's", () => onlyA.length === 125)
        assert.isTrue(onlyA.every((record) => record.script_id === SCRIPT_A))
        // `since` replays on the manager hold the remote records too.
        const replayed = yield* follow(manager.tail, everything, sent[247]!.id)
        yield* eventually(1000, "the replay", () => replayed.length === 2)
        assert.deepStrictEqual(replayed.map((record) => record.id), [sent[248]!.id, sent[249]!.id])
      }))

    it.effect("notes carry ids only, a hundred at most, far below PostgreSQL's 8000-byte payload", () =>
      Effect.gen(function*() {
        const pg = yield* PgClient.PgClient
        const notes = yield* pg.listen(CHANGES_CHANNEL)
        const orchestrator = yield* process(ClusterDelivery.tailAnnouncing)
        const sent = Array.from({ length: 150 }, () => execution(SCRIPT_A))
        for (const record of sent) {
          yield* orchestrator.log.record(record)
          yield* orchestrator.tail.publish(record)
        }
        const ids: Array<string> = []
        while (ids.length < sent.length) {
          const { payload } = yield* Queue.take(notes)
          assert.isBelow(payload.length, 4000)
          assert.notInclude(payload, SECRET_LOG)
          const [, kind, rest] = payload.split(":")
          if (kind !== ClusterDelivery.TAIL_KIND) continue
          const chunk = rest!.split(",")
          assert.isAtMost(chunk.length, ClusterDelivery.IDS_PER_NOTE)
          ids.push(...chunk)
        }
        assert.deepStrictEqual(ids, sent.map((record) => record.id))
      }))

    it.effect("a manager's own records reach the other managers; an orchestrator's tail follows no one", () =>
      Effect.gen(function*() {
        const orchestrator = yield* process(ClusterDelivery.tailAnnouncing)
        const manager = yield* process(ClusterDelivery.tailFollowing)
        const other = yield* process(ClusterDelivery.tailFollowing)
        const onOrchestrator = yield* follow(orchestrator.tail, everything)
        const onManager = yield* follow(manager.tail, everything)
        const onOther = yield* follow(other.tail, everything)
        // A test run on the manager: its own tail has it at once (as soon as its reader runs), the other manager's within a second.
        const testRun = execution(SCRIPT_A)
        yield* manager.log.record(testRun)
        yield* manager.tail.publish(testRun)
        yield* eventually(200, "its own tail", () => onManager.length === 1)
        assert.deepStrictEqual(onManager.map((record) => record.id), [testRun.id])
        yield* eventually(1000, "the other manager", () => onOther.length === 1)
        assert.strictEqual(onOther[0]!.id, testRun.id)
        yield* Effect.sleep("300 millis")
        assert.deepStrictEqual(onOrchestrator, [], "an orchestrator serves no tail: it reads nothing")
        assert.strictEqual(onManager.length, 1, "no echo of its own note")
      }))

    it.effect("an announced id whose record is not in the log is skipped; the next ones still arrive", () =>
      Effect.gen(function*() {
        const orchestrator = yield* process(ClusterDelivery.tailAnnouncing)
        const manager = yield* process(ClusterDelivery.tailFollowing)
        const all = yield* follow(manager.tail, everything)
        const bus = yield* Layer.build(Layer.fresh(NotifyBus.layer)).pipe(Effect.map(Context.get(NotifyBus)))
        yield* bus.listening
        yield* bus.publish(ClusterDelivery.TAIL_KIND, `${uuidv7()},not-an-id,${"x".repeat(50)}`)
        const record = execution(SCRIPT_B)
        yield* orchestrator.log.record(record)
        yield* orchestrator.tail.publish(record)
        yield* eventually(1000, "the real record", () => all.length === 1)
        assert.strictEqual(all[0]!.id, record.id)
      }))
  }
)
