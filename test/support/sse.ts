/** One Server-Sent Event as a reader sees it. */
export interface SseEvent {
  readonly event: string
  readonly id: string | undefined
  readonly data: string
}

/**
 * Reads a `text/event-stream` body event by event, as a browser's EventSource would (comments are
 * kept apart, in `comments`). `next` resolves with the next event, `undefined` once the stream has
 * ended, or fails after `timeoutMs`.
 */
export const sseReader = (response: Response) => {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const comments: Array<string> = []
  let buffer = ""
  let ended = false

  const parse = (block: string): SseEvent | undefined => {
    let event = "message"
    let id: string | undefined
    const data: Array<string> = []
    for (const line of block.split(/\r\n|\r|\n/)) {
      if (line.startsWith(":")) comments.push(line.slice(1).trim())
      const [field, ...rest] = line.split(":")
      const value = rest.join(":").replace(/^ /, "")
      if (field === "event") event = value
      else if (field === "id") id = value
      else if (field === "data") data.push(value)
    }
    return data.length === 0 ? undefined : { event, id, data: data.join("\n") }
  }

  const next = async (timeoutMs = 5_000): Promise<SseEvent | undefined> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const end = buffer.indexOf("\n\n")
      if (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = parse(block)
        if (event !== undefined) return event
        continue
      }
      if (ended) return undefined
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms (buffered: ${JSON.stringify(buffer)})`)
      let timer: ReturnType<typeof setTimeout> | undefined
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), left)
        })
      ]).finally(() => clearTimeout(timer))
      if (chunk.done) ended = true
      else buffer += decoder.decode(chunk.value, { stream: true })
    }
  }

  return { next, comments, close: () => reader.cancel().catch(() => undefined) }
}
