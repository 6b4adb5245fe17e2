/**
 * The async-job baseline: graphile-worker, a mature PostgreSQL job queue (LISTEN/NOTIFY, SKIP
 * LOCKED), driven the way the benchmark drives PiCloud. One client enqueues no-op jobs with up to
 * `inFlight` at once (as an HTTP client posting over that many connections would); we time each job from just
 * before its enqueue to the moment its task function starts, all in this process.
 */
import { Logger, makeWorkerUtils, run, runMigrations, type WorkerEvents } from "graphile-worker"
import { EventEmitter, once } from "node:events"
import pg from "pg"
import { percentile } from "./stats.ts"

/** How long to wait for the worker's LISTEN connection, and then for every job to start. */
const TIMEOUT_MS = 60_000

/** graphile-worker logs every job at info level: printing thousands of lines would be measured too. */
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`graphile-worker ${level}: ${message}`)
})

/**
 * Our own pools, not connection strings: graphile-worker ends the pools it creates without
 * waiting, after removing their error handlers, so a database stopped right after the bench would
 * crash this process with an unhandled 'error' from a client still closing. Ours we end ourselves.
 */
const makePool = (connectionString: string, max: number) => {
  const pool = new pg.Pool({ connectionString, max })
  const report = (error: Error) => console.error(`graphile-worker bench pool: ${error.message}`)
  pool.on("error", report)
  pool.on("connect", (client) => client.on("error", report))
  return pool
}

const withTimeout = <A>(promise: Promise<A>, message: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), TIMEOUT_MS)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const jobId = (payload: unknown) =>
  typeof payload === "object" && payload !== null && "id" in payload && typeof payload.id === "number"
    ? payload.id
    : undefined

export const benchGraphileWorker = async (
  url: string,
  options: { jobs: number; concurrency: number; inFlight: number }
): Promise<{ p50Ms: number; p99Ms: number; jobsPerSecond: number }> => {
  const { jobs, concurrency, inFlight } = options
  if (!(Number.isInteger(jobs) && jobs > 0)) throw new Error(`jobs must be a positive integer, got ${jobs}`)
  const enqueuedAt = new Float64Array(jobs)
  const startedAt = new Float64Array(jobs).fill(Number.NaN)
  let started = 0
  const allStarted = Promise.withResolvers<void>()

  // The client side's pool matches its in-flight jobs, so they really are concurrent inserts.
  const clientPool = makePool(url, inFlight)
  // graphile-worker warns of a pool smaller than its concurrency; +1 for the connection it holds to LISTEN.
  const workerPool = makePool(url, concurrency + 1)
  try {
    // Migrating is set-up, not part of what is measured.
    await runMigrations({ pgPool: clientPool, logger })
    const utils = await makeWorkerUtils({ pgPool: clientPool, logger })
    try {
      // Passed in, rather than taken from the runner, so no event can fire before we listen.
      const events: WorkerEvents = new EventEmitter()
      const listening = once(events, "pool:listen:success")
      const runner = await run({
        pgPool: workerPool,
        logger,
        events,
        concurrency,
        noHandleSignals: true,
        taskList: {
          noop: (payload) => {
            const id = jobId(payload)
            if (id === undefined || !Number.isNaN(startedAt[id])) return
            startedAt[id] = performance.now()
            if (++started === jobs) allStarted.resolve()
          }
        }
      })
      try {
        // A runner that ends (or fails) early would otherwise leave us waiting for the timeout.
        const finished = Promise.race([
          allStarted.promise,
          runner.promise.then(() => {
            throw new Error("graphile-worker stopped before all jobs started")
          })
        ])
        finished.catch(() => undefined)
        // Jobs enqueued before the worker LISTENs would wait for its 2 s poll, skewing the figures.
        await withTimeout(listening, `graphile-worker did not LISTEN within ${TIMEOUT_MS} ms`)

        // Open every client connection before the clock starts: we measure the queue, not log-ins.
        const warm = await Promise.all(Array.from({ length: inFlight }, () => clientPool.connect()))
        for (const client of warm) client.release()

        let next = 0
        const lane = async () => {
          while (next < jobs) {
            const id = next++
            enqueuedAt[id] = performance.now()
            await utils.addJob("noop", { id })
          }
        }
        await Promise.all(Array.from({ length: Math.min(inFlight, jobs) }, lane))
        await withTimeout(
          finished,
          `graphile-worker started only ${started} of ${jobs} jobs within ${TIMEOUT_MS} ms of the last enqueue`
        )
      } finally {
        await runner.stop()
      }
    } finally {
      await utils.release()
    }
  } finally {
    await Promise.all([clientPool.end(), workerPool.end()])
  }

  const latencies = startedAt.map((start, id) => start - enqueuedAt[id]!).sort()
  // Ids are handed out in order, so job 0 was the first enqueued.
  const seconds = (startedAt.reduce((a, b) => Math.max(a, b)) - enqueuedAt[0]!) / 1000
  return { p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), jobsPerSecond: jobs / seconds }
}
