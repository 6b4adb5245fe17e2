import { assert, describe, it } from "vitest"
import type { HostHandler, HostReply } from "../../../src/domain/HostCall.ts"
import { Engine } from "../../../src/executor/Engine.ts"
import { execRequest } from "./request.ts"

const engine = await Engine.make({
  memoryMb: 64,
  stackBytes: 256 * 1024,
  maxLogBytes: 1024,
  maxResponseBytes: 64 * 1024,
  warmScripts: 8,
  warmMemoryMb: 512,
  maxHostCalls: 50
})

/** A host whose answers the test releases by hand, recording each call. */
const manualHost = () => {
  const calls: Array<{ op: string; args: unknown; answer: (reply: HostReply) => void }> = []
  let arrived: () => void = () => undefined
  const host: HostHandler = (op, payload) =>
    new Promise((answer) => {
      calls.push({ op, args: JSON.parse(payload), answer })
      arrived()
    })
  const next = () => calls.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => (arrived = resolve))
  return { host, calls, next }
}

const body = (result: Awaited<ReturnType<Engine["run"]>>) => {
  if (!result.ok) throw new Error(`${result.reason}: ${result.message}`)
  return result.response.body === null ? null : JSON.parse(result.response.body)
}

describe("host calls (kv) in the sandbox", () => {
  it("kv.* send their arguments as JSON and resolve with the host's JSON answer", async () => {
    const seen: Array<[string, unknown]> = []
    const host: HostHandler = async (op, payload) => {
      seen.push([op, JSON.parse(payload)])
      return { ok: true, value: op === "kv.get" ? JSON.stringify({ n: 1 }) : "null" }
    }
    const result = await engine.run(
      execRequest(`export default async () => {
        const got = await kv.get("a/b")
        await kv.set("a/b", { n: got.n + 1, s: "x\\u0000y" }, { ifVersion: 3 })
        await kv.delete("old")
        await kv.getEntry("e")
        await kv.list({ prefix: "a/", limit: 5 })
        return got
      }`),
      host
    )
    assert.deepStrictEqual(body(result), { n: 1 })
    assert.deepStrictEqual(seen, [
      ["kv.get", { key: "a/b" }],
      ["kv.set", { key: "a/b", json: JSON.stringify({ n: 2, s: "x\u0000y" }), ifVersion: 3 }],
      ["kv.delete", { key: "old" }],
      ["kv.getEntry", { key: "e" }],
      ["kv.list", { prefix: "a/", limit: 5 }]
    ])
  })

  it("a refused call throws an Error with the host's name and message, which the script can catch", async () => {
    const host: HostHandler = async () => ({ ok: false, kind: "KvKeyInvalid", message: "bad key" })
    const caught = await engine.run(
      execRequest(`export default async () => {
        try { await kv.get("") } catch (e) { return { name: e.name, message: e.message, isError: e instanceof Error } }
      }`),
      host
    )
    assert.deepStrictEqual(body(caught), { name: "KvKeyInvalid", message: "bad key", isError: true })
    const uncaught = await engine.run(execRequest(`export default async () => kv.get("")`), host)
    assert.isFalse(uncaught.ok)
    if (!uncaught.ok) {
      assert.strictEqual(uncaught.reason, "ScriptThrew")
      assert.match(uncaught.message, /^KvKeyInvalid: bad key/)
    }
  })

  it("values JSON cannot carry are refused in the sandbox, before any call", async () => {
    const { host, calls } = manualHost()
    const result = await engine.run(
      execRequest(`export default async () => {
        const errors = []
        for (const value of [undefined, () => 1, 10n]) {
          try { await kv.set("k", value) } catch (e) { errors.push(e.name) }
        }
        try { await kv.set("k", 1, 5) } catch (e) { errors.push(e.name) }
        return errors
      }`),
      host
    )
    assert.deepStrictEqual(body(result), ["TypeError", "TypeError", "TypeError", "TypeError"])
    assert.strictEqual(calls.length, 0)
  })

  it("while one execution waits for the host, the engine runs others (also of the same script)", async () => {
    const { host, calls, next } = manualHost()
    const source = `export default async (req) => {
      if (req.query.wait === "1") return { waited: await kv.get("slow") }
      return { quick: true }
    }`
    const slow = engine.run(
      execRequest(source, { request: { ...execRequest(source).request!, query: { wait: "1" } } }),
      host
    )
    await next()
    // The slow one is parked on its host call: a quick one of the same version runs to its end meanwhile.
    const quick = await engine.run(execRequest(source), host)
    assert.deepStrictEqual(body(quick), { quick: true })
    calls[0]!.answer({ ok: true, value: "\"late\"" })
    assert.deepStrictEqual(body(await slow), { waited: "late" })
  })

  it("a call still out at the deadline is a Timeout, and a late answer harms nothing", async () => {
    const { host, calls, next } = manualHost()
    const source = `export default async () => ({ v: await kv.get("never") })`
    const pending = engine.run(execRequest(source, { timeoutMs: 100 }), host)
    await next()
    const result = await pending
    assert.isFalse(result.ok)
    if (!result.ok) assert.strictEqual(result.reason, "Timeout")
    calls[0]!.answer({ ok: true, value: "1" })
    // The script still runs (a new sandbox) and answers.
    const again = await engine.run(execRequest(source), async () => ({ ok: true, value: "2" }))
    assert.deepStrictEqual(body(again), { v: 2 })
  })

  it("a write the handler did not await still reaches the host before the execution ends", async () => {
    const seen: Array<string> = []
    const host: HostHandler = (_op, payload) =>
      new Promise((resolve) =>
        setTimeout(() => {
          seen.push(JSON.parse(payload).key)
          resolve({ ok: true, value: "null" })
        }, 20)
      )
    const result = await engine.run(
      execRequest(`export default () => { kv.set("forgotten", 1); return "done" }`),
      host
    )
    assert.isTrue(result.ok)
    assert.deepStrictEqual(seen, ["forgotten"])
  })

  it("past maxHostCalls a call is refused in the sandbox, without reaching the host (a loop cannot flood it)", async () => {
    let reached = 0
    const result = await engine.run(
      execRequest(`export default async () => {
        const calls = []
        for (let i = 0; i < 2000; i++) calls.push(kv.get("k").then(() => "ok", (e) => e.name))
        const names = await Promise.all(calls)
        return { ok: names.filter((n) => n === "ok").length, refused: names.filter((n) => n === "KvLimitExceeded").length }
      }`),
      async () => {
        reached++
        return { ok: true, value: "null" }
      }
    )
    assert.deepStrictEqual(body(result), { ok: 50, refused: 1950 })
    assert.strictEqual(reached, 50)
  })

  it("the module's top level cannot call the host; without a host, calls are refused", async () => {
    const topLevel = await engine.run(
      execRequest(`const early = kv.get("a").then((v) => v, (e) => e.message)
        export default async () => ({ early: await early })`),
      async () => ({ ok: true, value: "\"from host\"" })
    )
    assert.match(body(topLevel).early, /can be called only while the handler runs/)
    const noHost = await engine.run(execRequest(`export default async () => kv.get("a")`))
    assert.isFalse(noHost.ok)
    if (!noHost.ok) assert.match(noHost.message, /can be called only while the handler runs/)
  })
})
