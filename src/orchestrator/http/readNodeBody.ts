import { Effect } from "effect"
import type { IncomingMessage } from "node:http"

// As Effect's own request body: UTF-8, a leading BOM dropped, malformed bytes replaced (not refused).
const decoder = new TextDecoder()

/**
 * A Node request's whole body as text, or `unreadable` when the request breaks off. The caller
 * bounds it (Node's parser ends a body at its declared length). Interrupted, it stops listening.
 */
export const readNodeBody = <E>(request: IncomingMessage, unreadable: E) =>
  Effect.callback<string, E>((resume) => {
    const chunks: Array<Buffer> = []
    const onData = (chunk: Buffer) => void chunks.push(chunk)
    const onEnd = () => resume(Effect.succeed(decoder.decode(Buffer.concat(chunks))))
    const onFail = () => resume(Effect.fail(unreadable))
    request.on("data", onData).once("end", onEnd).once("error", onFail).once("aborted", onFail)
    return Effect.sync(() => {
      request.off("data", onData).off("end", onEnd).off("error", onFail).off("aborted", onFail)
    })
  })
