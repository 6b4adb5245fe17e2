/**
 * Entry of one executor worker thread: its own QuickJS engine (a capped WebAssembly memory per sandbox),
 * running the executions the host posts, one at a time, in order. Everything it exchanges with
 * the host is plain data.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Engine, type EngineLimits } from "./Engine.ts"
import type { WorkerReply, WorkerRequest } from "./workerProtocol.ts"

const port = parentPort!
const engine = await Engine.make((workerData as { limits: EngineLimits }).limits)

port.on("message", async (message: WorkerRequest) => {
  const reply: WorkerReply = message.kind === "run"
    ? { id: message.id, kind: "run", result: await engine.run(message.request) }
    : { id: message.id, kind: "validate", result: await engine.validate(message.source) }
  port.postMessage(reply)
})
port.postMessage({ kind: "ready" } satisfies WorkerReply)
