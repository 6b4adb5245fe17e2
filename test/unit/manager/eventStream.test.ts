import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { eventStreamResponse } from "../../../src/manager/http/eventStream.ts"
import type { TailEvent } from "../../../src/orchestrator/ExecutionTail.ts"

/** The response's body, as text chunks. */
const chunks = (events: Stream.Stream<TailEvent>) => {
  const response = eventStreamResponse(events)
  assert.strictEqual(response.body._tag, "Stream")
  if (response.body._tag !== "Stream") throw new Error("not a stream")
  assert.strictEqual(response.body.contentType, "text/event-stream")
  return response.body.stream.pipe(Stream.decodeText, Stream.orDie)
}

describe("the tail as Server-Sent Events", () => {
  it.effect("an opening comment, each record as `event: execution` with its id, then the end; then it closes", () =>
    Effect.gen(function*() {
      const events: ReadonlyArray<TailEvent> = [
        { _tag: "Record", id: "01a2-1", json: "{\"id\":\"01a2-1\",\"text\":\"a\\nb\"}" },
        { _tag: "End", reason: "dropped" }
      ]
      const text = (yield* Stream.runCollect(chunks(Stream.fromArray(events)))).join("")
      const [open, record, end, rest] = text.split("\n\n")
      assert.strictEqual(open, ": picloud executions")
      assert.strictEqual(record, "id: 01a2-1\nevent: execution\ndata: {\"id\":\"01a2-1\",\"text\":\"a\\nb\"}")
      assert.match(end!, /^event: dropped\ndata: \{"reason":"dropped","message":".*since.*"\}$/)
      assert.strictEqual(rest, "")
    }))

  it.effect("a heartbeat comment every 15 s while the tail is open, none before", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const fiber = yield* chunks(Stream.never).pipe(
        Stream.runForEach((chunk) => Effect.sync(() => seen.push(chunk))),
        Effect.forkChild
      )
      yield* TestClock.adjust("14 seconds")
      assert.deepStrictEqual(seen, [": picloud executions\n\n"])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(seen.slice(1), [": heartbeat\n\n"])
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(seen.length, 4)
      yield* Fiber.interrupt(fiber)
    }))
})
