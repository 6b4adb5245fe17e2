import { Duration, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import type { TailEnd, TailEvent } from "../../orchestrator/ExecutionTail.ts"

/** A comment this often while a tail is open, so that proxies keep a quiet stream open. */
export const HEARTBEAT = Duration.seconds(15)

/** The data of a tail's last event: why it ended, and what the reader may do about it. */
const ENDED: Record<TailEnd, { readonly reason: TailEnd; readonly message: string }> = {
  dropped: {
    reason: "dropped",
    message: "the reader fell too far behind; reconnect with ?since=<the last id received> to resume"
  },
  shutdown: {
    reason: "shutdown",
    message: "the server is shutting down; reconnect with ?since=<the last id received> to resume"
  }
}

/** One Server-Sent Event: a record (`id:` its execution id), or the end. JSON holds no raw newline. */
const eventText = (event: TailEvent) =>
  event._tag === "Record"
    ? `id: ${event.id}\nevent: execution\ndata: ${event.json}\n\n`
    : `event: ${event.reason}\ndata: ${JSON.stringify(ENDED[event.reason])}\n\n`

/**
 * A tail as a `text/event-stream` response: an opening comment (so the reader sees the stream
 * open at once), the events, and a heartbeat comment every `HEARTBEAT` for as long as the tail is
 * open (the timer lives with the response: nothing runs without a reader). It ends when the tail
 * does. `no-cache` and `X-Accel-Buffering: no` keep caches and nginx from holding events back.
 */
export const eventStreamResponse = (events: Stream.Stream<TailEvent>) =>
  HttpServerResponse.stream(
    Stream.make(": picloud executions\n\n").pipe(
      Stream.concat(Stream.map(events, eventText)),
      Stream.merge(
        Stream.tick(HEARTBEAT).pipe(Stream.drop(1), Stream.map(() => ": heartbeat\n\n")),
        { haltStrategy: "left" }
      ),
      Stream.encodeText
    ),
    { contentType: "text/event-stream", headers: { "cache-control": "no-cache", "x-accel-buffering": "no" } }
  )
