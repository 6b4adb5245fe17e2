/**
 * Entry of one executor worker thread: its own QuickJS engine (a capped WebAssembly memory per sandbox),
 * running the executions the host posts, concurrently (one runs while others await a host call).
 * A script's host calls (`kv.*`) go back to the host, which answers each by its number. Everything
 * it exchanges with the host is plain data, in batches (see `Batcher`).
 */
import { parentPort, workerData } from "node:worker_threads"
import type { HostHandler, HostReply } from "../domain/HostCall.ts"
import { Engine, type EngineLimits } from "./Engine.ts"
import { Batcher, SourceCache, type WorkerReply, type WorkerRequest } from "./workerProtocol.ts"

const port = parentPort!
const engine = await Engine.make((workerData as { limits: EngineLimits }).limits)
const replies = new Batcher<WorkerReply>((batch) => port.postMessage(batch))
/** Host calls waiting for the host's answer, by number. */
const answers = new Map<number, (reply: HostReply) => void>()
let nextCall = 1
/** Script sources by key: the host sends a source only when this does not hold it (its twin says so). */
const sources = new SourceCache()

/** Job `id`'s host calls; the first one also lets the next job start (`proceed`). */
const hostFor = (id: number, proceed: () => void): HostHandler => (op, payload) =>
  new Promise((resolve) => {
    proceed()
    const call = nextCall++
    answers.set(call, resolve)
    replies.add({ kind: "host", id, call, op, payload })
  })

/** Starts a job; `proceed` is called once it has ended or awaits the host (so the thread can run another). */
const start = (message: Exclude<WorkerRequest, { kind: "answer" }>, proceed: () => void) => {
  if (message.kind === "validate") {
    return void engine.validate(message.source).then((result) => {
      replies.add({ id: message.id, kind: "validate", result })
      proceed()
    })
  }
  const { id, job } = message
  let source = message.source
  if (source === undefined) source = sources.get(job.key)
  else sources.set(job.key, source)
  if (source === undefined) {
    replies.add({ id, kind: "miss" })
    return proceed()
  }
  void engine.runJob(job, source, hostFor(id, proceed)).then((result) => {
    replies.add({ id, kind: "run", result })
    proceed()
  })
}

/**
 * Jobs start one at a time, each once the one before has ended or awaits the host: a job's warm
 * sandbox is back in the warm set before the next job of that version looks for one (so a batch of
 * calls to one script reuses one sandbox instead of building one per call).
 */
const queue: Array<Exclude<WorkerRequest, { kind: "answer" }>> = []
let draining = false
const drain = async () => {
  draining = true
  for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
    const current = message
    await new Promise<void>((proceed) => start(current, proceed))
  }
  draining = false
}

port.on("message", (batch: ReadonlyArray<WorkerRequest>) => {
  for (const message of batch) {
    if (message.kind === "answer") {
      answers.get(message.call)?.(message.reply)
      answers.delete(message.call)
    } else {
      queue.push(message)
    }
  }
  if (!draining) void drain()
})
port.postMessage([{ kind: "ready" }] satisfies Array<WorkerReply>)
