import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { defaultLimits } from "../../../src/executor/Engine.ts"
import { WorkerPool } from "../../../src/executor/WorkerPool.ts"
import {
  SOURCE_CACHE_CHARS,
  SOURCE_CACHE_ENTRIES,
  SourceCache,
  type WorkerRequest
} from "../../../src/executor/workerProtocol.ts"
import { execRequest } from "./request.ts"

const events: Array<string> = []
const pool = new WorkerPool({
  size: 2,
  limits: { ...defaultLimits, stackBytes: 1024 * 1024 },
  stackSizeMb: 8,
  onEvent: (message) => events.push(message)
})
beforeAll(() => pool.start(), 30_000)
afterAll(() => pool.close())

const busy = (ms: number) =>
  `export default () => { const end = Date.now() + ${ms}; while (Date.now() < end) {} return "done" }`
const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25))
  assert.isTrue(condition())
}

describe("WorkerPool", () => {
  it("runs executions in worker threads, in parallel across workers", async () => {
    // Each reports when it ran; overlapping intervals prove they ran side by side (a wall-clock
    // bound would fail on a loaded machine).
    const timed = (tag: string) =>
      `export default () => { const start = Date.now(); while (Date.now() < start + 300) {} return [start, Date.now(), "${tag}"] }`
    const results = await Promise.all([pool.run(execRequest(timed("a"))), pool.run(execRequest(timed("b")))])
    const [a, b] = results.map((r) => {
      if (!r.ok) throw new Error(r.message)
      return JSON.parse(r.response.body!) as [number, number]
    })
    assert.isTrue(a![0] < b![1] && b![0] < a![1], `intervals overlap: ${JSON.stringify([a, b])}`)
    assert.deepStrictEqual(pool.load, [0, 0])
  })

  it("a script's host calls come back to this side, each answered by its own job's handler", async () => {
    const source = `export default async (req) => ({ mine: await kv.get(req.query.q) })`
    // Many jobs on two workers, each parked on a host call at once: every answer reaches its own job.
    const jobs = Array.from({ length: 12 }, (_, i) => {
      let answer: (value: string) => void = () => undefined
      const answered = new Promise<string>((resolve) => (answer = resolve))
      const run = pool.run(
        execRequest(source, { request: { ...execRequest(source).request!, query: { q: `key-${i}` } } }),
        async (op, payload) => ({
          ok: true,
          value: JSON.stringify(`${op} ${JSON.parse(payload).key} @${await answered}`)
        })
      )
      return { run, answer }
    })
    for (const [i, job] of [...jobs.entries()].reverse()) job.answer(`job-${i}`)
    const results = await Promise.all(jobs.map((job) => job.run))
    results.forEach((result, i) => {
      if (!result.ok) throw new Error(result.message)
      assert.deepStrictEqual(JSON.parse(result.response.body!), { mine: `kv.get key-${i} @job-${i}` })
    })
    assert.deepStrictEqual(pool.load, [0, 0])
  })

  it("validates in the workers too", async () => {
    assert.deepStrictEqual(await pool.validate(`export default () => 1`), { ok: true })
    const bad = await pool.validate("export default (")
    assert.isFalse(bad.ok)
  })

  it("a 1 MiB guest stack in a worker: deep recursion is a clean StackLimit", async () => {
    const deep = await pool.run(
      execRequest(`function f(n) { return n > 3000 ? n : f(n + 1) }\nexport default () => f(0)`)
    )
    assert.isTrue(deep.ok, JSON.stringify(deep))
    const overflow = await pool.run(execRequest(`export default function f() { return f() + 1 }`))
    assert.isFalse(overflow.ok)
    if (!overflow.ok) assert.strictEqual(overflow.reason, "StackLimit")
  })

  it("a worker that dies mid-execution: its executions fail as Crashed, a new worker takes its place", async () => {
    const pending = pool.run(execRequest(busy(3000), { timeoutMs: 5000 }))
    await waitFor(() => pool.load.some((n) => n > 0))
    const victim = pool.workers[pool.load.findIndex((n) => n > 0)]!
    await victim.terminate()
    const result = await pending
    assert.isFalse(result.ok)
    if (!result.ok) assert.strictEqual(result.reason, "Crashed")
    await waitFor(() => pool.workers.every((w) => w !== undefined && w !== victim))
    assert.isTrue(events.some((e) => e.includes("replacing executor worker")))
    const after = await Promise.all([
      pool.run(execRequest(`export default () => 1`)),
      pool.run(execRequest(`export default () => 2`))
    ])
    assert.deepStrictEqual(after.map((r) => r.ok), [true, true])
  })

  it("after close every call fails as Crashed rather than hanging", async () => {
    const other = new WorkerPool({ size: 1, limits: defaultLimits, stackSizeMb: 8, onEvent: () => undefined })
    await other.start()
    await other.close()
    const result = await other.run(execRequest(`export default () => 1`))
    assert.isFalse(result.ok)
  })
})

describe("WorkerPool messages", () => {
  const single = new WorkerPool({ size: 1, limits: defaultLimits, stackSizeMb: 8, onEvent: () => undefined })
  beforeAll(() => single.start(), 30_000)
  afterAll(() => single.close())

  type Posted = ReadonlyArray<WorkerRequest>
  /** Every batch posted to the worker, after `edit` (which may change what the worker gets). */
  const spy = (edit: (batch: Posted) => Posted = (batch) => batch) => {
    const worker = single.workers[0]!
    const posted: Array<Posted> = []
    const original = worker.postMessage.bind(worker)
    worker.postMessage = (batch: Posted) => {
      posted.push(batch)
      original(edit(batch))
    }
    return { posted, restore: () => (worker.postMessage = original) }
  }
  const runs = (posted: ReadonlyArray<Posted>) =>
    posted.flat().filter((m): m is Extract<WorkerRequest, { kind: "run" }> => m.kind === "run")

  it("sends a script version's source once; later runs name it by id and version", async () => {
    const { posted, restore } = spy()
    try {
      const request = execRequest(`export default () => "once"`)
      for (let i = 0; i < 3; i++) {
        const result = await single.run(request)
        assert.isTrue(result.ok && result.response.body === "once", JSON.stringify(result))
      }
      const sent = runs(posted)
      assert.strictEqual(sent.length, 3)
      assert.deepStrictEqual(sent.map((m) => m.source !== undefined), [true, false, false])
      assert.isTrue(sent.every((m) => m.job.key === `${request.script.id}@${request.script.version}`))
      // A new version is a new key: its source goes again.
      await single.run({ ...request, script: { ...request.script, version: request.script.version + 1 } })
      assert.strictEqual(runs(posted)[3]!.source, request.script.source)
    } finally {
      restore()
    }
  })

  it("calls made in one turn of the event loop go to the worker in one message", async () => {
    const { posted, restore } = spy()
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => single.run(execRequest(`export default () => ${i}`)))
      )
      assert.deepStrictEqual(results.map((r) => r.ok && r.response.body), ["0", "1", "2", "3", "4", "5", "6", "7"])
      assert.strictEqual(posted.length, 1)
      assert.strictEqual(runs(posted).length, 8)
    } finally {
      restore()
    }
  })

  it("a batch of calls to one script runs in turn in its one warm sandbox, not one sandbox per call", async () => {
    const { posted, restore } = spy()
    try {
      const request = execRequest(`let calls = 0\nexport default () => ++calls`)
      const results = await Promise.all(Array.from({ length: 6 }, () => single.run(request)))
      assert.strictEqual(posted.length, 1)
      assert.deepStrictEqual(results.map((r) => r.ok && r.response.body), ["1", "2", "3", "4", "5", "6"])
    } finally {
      restore()
    }
  })

  it("a worker that lacks a source answers so, and the job goes again with it", async () => {
    // The worker gets the first message without its source, as if its cache had lost it.
    let stripped = false
    const { posted, restore } = spy((batch) =>
      batch.map((m) => {
        if (m.kind !== "run" || stripped) return m
        stripped = true
        return { ...m, source: undefined }
      })
    )
    try {
      const result = await single.run(execRequest(`export default () => "resent"`))
      assert.isTrue(result.ok && result.response.body === "resent", JSON.stringify(result))
      const sent = runs(posted)
      assert.strictEqual(sent.length, 2)
      assert.strictEqual(sent[0]!.id, sent[1]!.id)
      assert.isTrue(sent[1]!.source !== undefined)
      assert.deepStrictEqual(single.load, [0])
    } finally {
      restore()
    }
  })
})

describe("SourceCache", () => {
  it("keeps the most recently used sources, within its entry and size bounds", () => {
    const cache = new SourceCache()
    for (let i = 0; i < SOURCE_CACHE_ENTRIES; i++) cache.set(`s${i}@1`, `source ${i}`)
    assert.strictEqual(cache.get("s0@1"), "source 0")
    cache.set("extra@1", "more")
    assert.strictEqual(cache.size, SOURCE_CACHE_ENTRIES)
    // s0 was used last, so s1 went.
    assert.strictEqual(cache.get("s0@1"), "source 0")
    assert.isUndefined(cache.get("s1@1"))
    const big = "x".repeat(SOURCE_CACHE_CHARS / 2 + 1)
    cache.set("big1@1", big)
    cache.set("big2@1", big)
    assert.isUndefined(cache.get("big1@1"))
    assert.strictEqual(cache.get("big2@1"), big)
    cache.set("huge@1", "x".repeat(SOURCE_CACHE_CHARS + 1))
    assert.isUndefined(cache.get("huge@1"))
  })
})
