import { Worker } from "node:worker_threads"
import type { ExecRequest } from "../domain/Exec.ts"
import { type HostHandler, type HostReply, noHostCalls } from "../domain/HostCall.ts"
import { SEMI_SPACE_MB } from "../runtime/nodeFlags.ts"
import type { EngineLimits, EngineResult, ValidationResult } from "./Engine.ts"
import { Batcher, runJob, SourceCache, type WorkerReply, type WorkerRequest } from "./workerProtocol.ts"

const WORKER_ENTRY = new URL("./worker.ts", import.meta.url)
/** Beyond its timeout, how long an execution may go unanswered before its worker is deemed stuck. */
const WATCHDOG_GRACE_MS = 5_000
const VALIDATE_BUDGET_MS = 1_000
/** A worker that died before its engine loaded is retried after this long, not in a tight loop. */
const RESPAWN_DELAY_MS = 1_000

interface Job {
  /** What was asked (a run with its source, which goes again if the worker answers that it lacks it). */
  readonly message: WorkerRequest & { readonly id: number }
  /** The longest this job can take once started: its timeout, or the validator's deadline. */
  readonly budgetMs: number
  /** Answers the job's host calls (`kv.*`). */
  readonly host: HostHandler
  readonly settle: (reply: WorkerReply | { readonly kind: "crashed"; readonly message: string }) => void
  timer?: NodeJS.Timeout
}

interface Slot {
  /** `undefined` while a replacement is on its way. */
  worker: Worker | undefined
  readonly jobs: Map<number, Job>
  /** The twin of the worker's source cache: what it holds (a fresh worker holds nothing). */
  sources: SourceCache
  /** Messages to the worker, posted together at the end of the event loop's turn. */
  outbox: Batcher<WorkerRequest>
}

export interface WorkerPoolOptions {
  readonly size: number
  readonly limits: EngineLimits
  /** Worker thread stack: the guest stack lives inside it. */
  readonly stackSizeMb: number
  readonly onEvent: (message: string) => void
}

/**
 * A fixed set of worker threads, each with its own QuickJS engine. Jobs go to the worker with the
 * fewest in flight (a worker interleaves its jobs while they await host calls, which this side
 * answers with the job's own handler: a worker cannot act for another job). A worker that crashes,
 * exits or stops answering (its watchdog: the budgets of the jobs ahead plus its own plus a grace,
 * an upper bound whether they run in turn or interleaved) is replaced; its jobs fail as `Crashed`.
 * Timers exist only while jobs are in flight: an idle pool costs nothing.
 */
export class WorkerPool {
  private readonly slots: Array<Slot> = []
  private nextId = 1
  private closing = false
  private readonly options: WorkerPoolOptions

  constructor(options: WorkerPoolOptions) {
    this.options = options
  }

  /** Starts every worker and waits until each has its engine loaded. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.size }, () => this.spawn()))
  }

  run(request: ExecRequest, host: HostHandler = noHostCalls): Promise<EngineResult> {
    return new Promise((resolve) => {
      const id = this.nextId++
      const job = runJob(request)
      const message = { id, kind: "run", job, source: request.script.source } as const
      this.dispatch(message, request.timeoutMs, host, (reply) => {
        if (reply.kind === "run") return resolve(reply.result)
        resolve({
          ok: false,
          reason: "Crashed",
          message: reply.kind === "crashed" ? reply.message : "unexpected reply from the executor",
          logs: [],
          logsTruncated: false,
          durationMs: 0
        })
      })
    })
  }

  validate(source: string): Promise<ValidationResult> {
    return new Promise((resolve) => {
      this.dispatch({ id: this.nextId++, kind: "validate", source }, VALIDATE_BUDGET_MS, noHostCalls, (reply) => {
        if (reply.kind === "validate") return resolve(reply.result)
        resolve({
          ok: false,
          message: reply.kind === "crashed" ? reply.message : "unexpected reply",
          line: null,
          column: null
        })
      })
    })
  }

  /** In-flight jobs per worker (for tests and metrics). */
  get load(): ReadonlyArray<number> {
    return this.slots.map((slot) => slot.jobs.size)
  }

  /** The live worker threads, in slot order (diagnostics, and tests that kill one). */
  get workers(): ReadonlyArray<Worker | undefined> {
    return this.slots.map((slot) => slot.worker)
  }

  async close(): Promise<void> {
    this.closing = true
    await Promise.all(this.slots.map((slot) => {
      this.failAll(slot, "the executor is shutting down")
      return slot.worker?.terminate()
    }))
  }

  private dispatch(
    message: WorkerRequest & { readonly id: number },
    budgetMs: number,
    host: HostHandler,
    settle: Job["settle"]
  ) {
    const live = this.slots.filter((s) => s.worker !== undefined)
    if (this.closing || live.length === 0) {
      return settle({
        kind: "crashed",
        message: this.closing ? "the executor is shutting down" : "no executor worker is available"
      })
    }
    const slot = live.reduce((best, s) => (s.jobs.size < best.jobs.size ? s : best))
    const ahead = [...slot.jobs.values()].reduce((sum, job) => sum + job.budgetMs, 0)
    const job: Job = { message, budgetMs, host, settle }
    job.timer = setTimeout(
      () => this.replace(slot, "an execution stopped answering"),
      ahead + budgetMs + WATCHDOG_GRACE_MS
    )
    slot.jobs.set(message.id, job)
    slot.outbox.add(message.kind === "run" ? this.withSource(slot, message) : message)
  }

  /** A run message with its source only if the slot's worker does not hold it already. */
  private withSource(slot: Slot, message: Extract<WorkerRequest, { kind: "run" }>) {
    const { key } = message.job
    if (slot.sources.get(key) !== undefined) return { ...message, source: undefined }
    if (message.source !== undefined) slot.sources.set(key, message.source)
    return message
  }

  /**
   * Starts a worker in `slot` (a new slot when none is given). Resolves when its engine is loaded;
   * rejects if it dies before that, so a broken installation fails at start, not in a respawn loop.
   */
  private spawn(slot?: Slot): Promise<void> {
    const worker = new Worker(WORKER_ENTRY, {
      workerData: { limits: this.options.limits },
      // The young generation as the main thread's (`--max-semi-space-size`): a semi-space is a third of it.
      resourceLimits: { stackSizeMb: this.options.stackSizeMb, maxYoungGenerationSizeMb: 3 * SEMI_SPACE_MB }
    })
    const outbox = new Batcher<WorkerRequest>((batch) => worker.postMessage(batch))
    const current: Slot = slot ?? { worker, jobs: new Map(), sources: new SourceCache(), outbox }
    current.worker = worker
    current.sources = new SourceCache()
    current.outbox = outbox
    if (!slot) this.slots.push(current)
    let ready = false
    return new Promise((resolve, reject) => {
      const receive = (reply: WorkerReply) => {
        if (reply.kind === "ready") {
          ready = true
          return resolve()
        }
        if (reply.kind === "host") return this.answer(current, worker, reply)
        const job = current.jobs.get(reply.id)
        if (!job) return
        // The twin was wrong (it should not be): the same job again, with its source this time.
        if (reply.kind === "miss") {
          if (job.message.kind === "run" && job.message.source !== undefined) {
            current.sources.set(job.message.job.key, job.message.source)
          }
          return current.outbox.add(job.message)
        }
        clearTimeout(job.timer)
        current.jobs.delete(reply.id)
        job.settle(reply)
      }
      worker.on("message", (replies: ReadonlyArray<WorkerReply>) => {
        for (const reply of replies) receive(reply)
      })
      const died = (reason: string) => {
        if (!ready) reject(new Error(reason))
        if (current.worker === worker) this.replace(current, reason, ready ? 0 : RESPAWN_DELAY_MS)
      }
      worker.on("error", (error) => died(`the executor worker failed: ${error.message}`))
      worker.on("exit", (code) => died(`the executor worker exited (code ${code})`))
    })
  }

  /** Answers a host call with its job's handler (none once the job has ended), unless the worker was replaced meanwhile. */
  private answer(slot: Slot, worker: Worker, call: Extract<WorkerReply, { kind: "host" }>) {
    const host = slot.jobs.get(call.id)?.host ?? noHostCalls
    void host(call.op, call.payload).catch((fault): HostReply => ({
      ok: false,
      kind: "Error",
      message: `${call.op} failed: ${fault instanceof Error ? fault.message : String(fault)}`
    })).then((reply) => {
      if (slot.worker === worker) slot.outbox.add({ kind: "answer", call: call.call, reply })
    })
  }

  /** Fails the slot's jobs and puts a fresh worker in its place (after `delayMs`, if it never came up). */
  private replace(slot: Slot, reason: string, delayMs = 0) {
    if (this.closing) return
    const old = slot.worker
    this.options.onEvent(`replacing executor worker ${old?.threadId}: ${reason}`)
    this.failAll(slot, reason)
    // What was not posted yet was for the failed jobs.
    slot.outbox.clear()
    // Mark the slot as moved on at once, so the old worker's own exit does not replace it again.
    slot.worker = undefined
    void old?.terminate()
    setTimeout(() => {
      if (!this.closing) this.spawn(slot).catch(() => undefined)
    }, delayMs)
  }

  private failAll(slot: Slot, reason: string) {
    for (const job of slot.jobs.values()) {
      clearTimeout(job.timer)
      job.settle({ kind: "crashed", message: reason })
    }
    slot.jobs.clear()
  }
}
