import type { ExecRequest } from "../domain/Exec.ts"
import type { HostReply } from "../domain/HostCall.ts"
import type { EngineResult, ValidationResult } from "./Engine.ts"

/**
 * One execution as the engine runs it: the script by its key (`id@version`) and the handler's two
 * arguments already JSON. Strings, so it crosses a worker boundary with a copy, not an object walk.
 */
export interface RunJob {
  /** `scriptId@version`: what a warm sandbox is kept by. */
  readonly key: string
  readonly timeoutMs: number
  /** The `request` argument (JSON), or `null` for an invocation without one. */
  readonly request: string | null
  /** The `ctx` argument (JSON). */
  readonly ctx: string
}

/** The job for `request` (the script's source travels apart: see `SourceCache`). */
export const runJob = (request: ExecRequest): RunJob => ({
  key: `${request.script.id}@${request.script.version}`,
  timeoutMs: request.timeoutMs,
  request: request.request === null ? null : JSON.stringify(request.request),
  ctx: JSON.stringify({
    executionId: request.executionId,
    rootExecutionId: request.rootExecutionId,
    triggerDepth: request.triggerDepth,
    invocation: request.invocation,
    script: { id: request.script.id, name: request.script.name, version: request.script.version },
    app: request.app,
    principal: request.principal,
    event: request.event,
    env: request.env
  })
})

/** Sources a worker keeps, at most this many… */
export const SOURCE_CACHE_ENTRIES = 64
/** …and at most this many UTF-16 code units in all (a source past it is not kept). */
export const SOURCE_CACHE_CHARS = 8 * 1024 * 1024

/**
 * The script sources a worker holds, least recently used evicted past either bound. The host keeps
 * a twin per worker, fed the same keys in the same order (messages to a worker arrive in order), so
 * it knows what the worker holds and sends a source only when the worker lacks it. Should the two
 * ever disagree, the worker answers `miss` and the host sends the job again with its source.
 */
export class SourceCache {
  private readonly sources = new Map<string, string>()
  private chars = 0

  /** The source of `key`, now most recently used. */
  get(key: string): string | undefined {
    const source = this.sources.get(key)
    if (source !== undefined) {
      this.sources.delete(key)
      this.sources.set(key, source)
    }
    return source
  }

  /** Keeps `source` as most recently used, evicting the least recently used past the bounds. */
  set(key: string, source: string): void {
    const old = this.sources.get(key)
    if (old !== undefined) {
      this.sources.delete(key)
      this.chars -= old.length
    }
    if (source.length > SOURCE_CACHE_CHARS) return
    this.sources.set(key, source)
    this.chars += source.length
    while (this.sources.size > SOURCE_CACHE_ENTRIES || this.chars > SOURCE_CACHE_CHARS) {
      const [oldest, text] = this.sources.entries().next().value!
      this.sources.delete(oldest)
      this.chars -= text.length
    }
  }

  get size(): number {
    return this.sources.size
  }
}

/**
 * Messages to the other thread, gathered and posted as one array once the current turn of the
 * event loop is done (`setImmediate`): under load a post (and the other thread's wake-up) is shared
 * by every message of that turn; at rest a message waits only for the end of its turn.
 */
export class Batcher<A> {
  private pending: Array<A> = []
  private readonly post: (batch: ReadonlyArray<A>) => void

  constructor(post: (batch: ReadonlyArray<A>) => void) {
    this.post = post
  }

  add(message: A): void {
    this.pending.push(message)
    if (this.pending.length === 1) setImmediate(this.flush)
  }

  /** Drops what is not sent yet (its receiver is gone). */
  clear(): void {
    this.pending = []
  }

  private readonly flush = () => {
    const batch = this.pending
    if (batch.length === 0) return
    this.pending = []
    this.post(batch)
  }
}

/** Host → worker, in arrays (see `Batcher`). */
export type WorkerRequest =
  /** Runs `job`; `source` is sent only when the worker does not hold the script's source (by `job.key`). */
  | { readonly id: number; readonly kind: "run"; readonly job: RunJob; readonly source: string | undefined }
  | { readonly id: number; readonly kind: "validate"; readonly source: string }
  /** The answer to host call number `call`. */
  | { readonly kind: "answer"; readonly call: number; readonly reply: HostReply }

/** Worker → host, in arrays (see `Batcher`). */
export type WorkerReply =
  | { readonly kind: "ready" }
  | { readonly id: number; readonly kind: "run"; readonly result: EngineResult }
  /** The worker does not hold job `id`'s source: the host sends the job again with it. */
  | { readonly id: number; readonly kind: "miss" }
  | { readonly id: number; readonly kind: "validate"; readonly result: ValidationResult }
  /** Job `id`'s script calls the host (`op` with `payload`, JSON text); the host answers `call`. */
  | {
    readonly id: number
    readonly kind: "host"
    readonly call: number
    readonly op: string
    readonly payload: string
  }
