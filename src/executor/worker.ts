/**
 * Entry of one executor worker thread: its own QuickJS engine (a capped WebAssembly memory per sandbox),
 * running the executions the host posts, concurrently (one runs while others await a host call).
 * A script's host calls (`kv.*`) go back to the host, which answers each by its number. Everything
 * it exchanges with the host is plain data.
 */
import { parentPort, workerData } from "node:worker_threads"
import type { HostHandler, HostReply } from "../domain/HostCall.ts"
import { Engine, type EngineLimits } from "./Engine.ts"
import type { WorkerReply, WorkerRequest } from "./workerProtocol.ts"

const port = parentPort!
const engine = await Engine.make((workerData as { limits: EngineLimits }).limits)
/** Host calls waiting for the host's answer, by number. */
const answers = new Map<number, (reply: HostReply) => void>()
let nextCall = 1

const hostFor = (id: number): HostHandler => (op, payload) =>
  new Promise((resolve) => {
    const call = nextCall++
    answers.set(call, resolve)
    port.postMessage({ kind: "host", id, call, op, payload } satisfies WorkerReply)
  })

port.on("message", async (message: WorkerRequest) => {
  if (message.kind === "answer") {
    answers.get(message.call)?.(message.reply)
    answers.delete(message.call)
    return
  }
  const reply: WorkerReply = message.kind === "run"
    ? { id: message.id, kind: "run", result: await engine.run(message.request, hostFor(message.id)) }
    : { id: message.id, kind: "validate", result: await engine.validate(message.source) }
  port.postMessage(reply)
})
port.postMessage({ kind: "ready" } satisfies WorkerReply)
