import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { defaultLimits } from "../../../src/executor/Engine.ts"
import { WorkerPool } from "../../../src/executor/WorkerPool.ts"
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
