import { assert, describe, it } from "vitest"
import { Engine } from "../../../src/executor/Engine.ts"
import { execRequest } from "./request.ts"

const engine = await Engine.make({
  memoryMb: 64,
  stackBytes: 256 * 1024,
  maxLogBytes: 1024,
  maxResponseBytes: 64 * 1024,
  warmScripts: 4,
  warmMemoryMb: 256,
  maxHostCalls: 1000
})
const run = (source: string, overrides?: Parameters<typeof execRequest>[1]) =>
  engine.run(execRequest(source, overrides))

const failure = async (source: string, overrides?: Parameters<typeof execRequest>[1]) => {
  const result = await run(source, overrides)
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.response)}`)
  return result
}
const success = async (source: string, overrides?: Parameters<typeof execRequest>[1]) => {
  const result = await run(source, overrides)
  if (!result.ok) throw new Error(`expected success, got ${result.reason}: ${result.message}`)
  return result.response
}

describe("Engine.validate", () => {
  it("accepts a module with a default export function", async () => {
    assert.deepStrictEqual(await engine.validate(`export default () => 1`), { ok: true })
  })
  it("reports a syntax error with line and column", async () => {
    const result = await engine.validate("export default function () {\n  return 1 +;\n}")
    assert.isFalse(result.ok)
    if (!result.ok) {
      assert.strictEqual(result.line, 2)
      assert.strictEqual(result.column, 13)
      assert.match(result.message, /SyntaxError/)
    }
  })
  it("refuses imports, a missing default export, and a default that is not a function", async () => {
    for (
      const [source, pattern] of [
        [`import fs from "fs"\nexport default () => 1`, /imports are not available/],
        [`export const x = 1`, /no default export/],
        [`export default 42`, /no default export/]
      ] as const
    ) {
      const result = await engine.validate(source)
      assert.isFalse(result.ok, source)
      if (!result.ok) assert.match(result.message, pattern)
    }
  })
  it("validates source after source without harming the sandbox", async () => {
    // Regression: QuickJS's compile-only mode corrupted the module's memory for sources like these.
    for (
      const source of [
        `export default () => ({ statusCode: 9999 })`,
        `export default () => { for (;;) {} }`,
        `export default () => 1`
      ]
    ) {
      assert.deepStrictEqual(await engine.validate(source), { ok: true }, source)
    }
    assert.strictEqual((await success(`export default () => ({ a: 1 })`)).body, `{"a":1}`)
  })

  it("a top-level infinite loop is stopped at upload", async () => {
    const started = Date.now()
    const result = await engine.validate(`for (;;) {}\nexport default () => 1`)
    assert.isFalse(result.ok)
    assert.isBelow(Date.now() - started, 2000)
  })
})

describe("Engine.run: the script contract", () => {
  it("a plain value is a 200 JSON body; a string is text; undefined is a 204", async () => {
    const json = await success(`export default () => ({ a: [1, "two"] })`)
    assert.strictEqual(json.statusCode, 200)
    assert.strictEqual(json.headers["content-type"], "application/json")
    assert.strictEqual(json.body, `{"a":[1,"two"]}`)
    const text = await success(`export default () => "hi"`)
    assert.strictEqual(text.body, "hi")
    assert.strictEqual(text.headers["content-type"], "text/plain; charset=utf-8")
    const empty = await success(`export default () => {}`)
    assert.strictEqual(empty.statusCode, 204)
    assert.isNull(empty.body)
  })

  it("a structured response keeps status and headers; an object body is JSON", async () => {
    const r = await success(
      `export default async () => ({ statusCode: 418, headers: { "X-Tea": "pot", n: 1 }, body: { short: true } })`
    )
    assert.strictEqual(r.statusCode, 418)
    assert.strictEqual(r.headers["x-tea"], "pot")
    assert.strictEqual(r.headers.n, "1")
    assert.strictEqual(r.headers["content-type"], "application/json")
    assert.strictEqual(r.body, `{"short":true}`)
    const raw = await success(
      `export default () => ({ statusCode: 200, headers: { "content-type": "text/html" }, body: "<p>x</p>" })`
    )
    assert.strictEqual(raw.body, "<p>x</p>")
    assert.strictEqual(raw.headers["content-type"], "text/html")
  })

  it("the handler sees the request (with json()) and ctx", async () => {
    const r = await success(
      `export default (req, ctx) => ({ m: req.method, p: req.path, q: req.query.q, h: req.headers["x-a"], n: req.json().n, ctx })`
    )
    const body = JSON.parse(r.body!)
    assert.deepStrictEqual({ m: body.m, p: body.p, q: body.q, h: body.h, n: body.n }, {
      m: "POST",
      p: "/api/execute/test",
      q: "1",
      h: "b",
      n: 2
    })
    assert.deepStrictEqual(body.ctx, {
      executionId: "00000000-0000-7000-8000-000000000001",
      rootExecutionId: "00000000-0000-7000-8000-000000000001",
      triggerDepth: 0,
      invocation: "http",
      script: { id: body.ctx.script.id, name: "test", version: 3 },
      app: { id: "default", name: "default" },
      principal: null,
      event: null,
      env: {}
    })
    const noRequest = await success(`export default (req) => typeof req`, { request: null, invocation: "schedule" })
    assert.strictEqual(noRequest.body, "undefined")
  })

  it("request.json() on a bad body throws a SyntaxError into the script", async () => {
    const r = await success(
      `export default (req) => { try { req.json(); return "parsed" } catch (e) { return e.name } }`,
      {
        request: { method: "POST", path: "/", params: {}, query: {}, headers: {}, body: "{nope" }
      }
    )
    assert.strictEqual(r.body, "SyntaxError")
  })

  it("captures console output with levels, formatting and timing", async () => {
    const r = await success(
      `export default () => { console.log("a", 1, { b: 2 }); console.warn("w"); console.error(new TypeError("t")); console.debug([1]); console.info(null) }`
    )
    assert.deepStrictEqual(r.logs.map((l) => [l.level, l.message.split("\n")[0]]), [
      ["log", `a 1 {"b":2}`],
      ["warn", "w"],
      ["error", "TypeError: t"],
      ["debug", "[1]"],
      ["info", "null"]
    ])
    assert.isFalse(r.logsTruncated)
    for (const l of r.logs) assert.isAtLeast(l.at, 0)
  })

  it("captures a log line whole, NUL characters and all (the host does not cut it at the first NUL)", async () => {
    const r = await success(`export default () => { console.log("a\\u0000b", "\\u00e9\\u{1F600}") }`)
    assert.deepStrictEqual(r.logs.map((l) => l.message), ["a\u0000b \u00e9\u{1F600}"])
  })

  it("caps captured logs and marks them truncated", async () => {
    const r = await success(
      `export default () => { for (let i = 0; i < 1000; i++) console.log("line " + i) ; return "ok" }`
    )
    assert.isTrue(r.logsTruncated)
    assert.strictEqual(r.logs.reduce((n, l) => n + l.message.length, 0), 1024)
    assert.strictEqual(r.body, "ok")
  })
})

describe("Engine.run: failures", () => {
  it("a throw or a rejection is ScriptThrew with the message, and logs are kept", async () => {
    const thrown = await failure(`export default () => { console.log("before"); throw new RangeError("bad range") }`)
    assert.strictEqual(thrown.reason, "ScriptThrew")
    assert.match(thrown.message, /^RangeError: bad range/)
    assert.deepStrictEqual(thrown.logs.map((l) => l.message), ["before"])
    const rejected = await failure(`export default async () => { await null; throw "plain string" }`)
    assert.strictEqual(rejected.reason, "ScriptThrew")
    assert.match(rejected.message, /plain string/)
  })

  it("error stacks shown to the caller and in logs hold the script's frames only, never the prelude's", async () => {
    const thrown = await failure(
      `function inner() { throw new Error("boom") }\nexport default () => [1].map(() => inner())`
    )
    assert.match(
      thrown.message,
      /^Error: boom\n {4}at inner \(script\.mjs:1:\d+\)\n {4}at <anonymous> \(script\.mjs:2:\d+\)\n {4}at map \(native\)\n {4}at default \(script\.mjs:2:\d+\)$/
    )
    const parsed = await failure(`export default (req) => req.json()`, {
      request: { method: "POST", path: "/", params: {}, query: {}, headers: {}, body: "{nope" }
    })
    assert.match(parsed.message, /^SyntaxError: .*\n[^]*at default \(script\.mjs:1:\d+\)$/)
    const evaluated = await failure(`export default () => eval("throw new TypeError('in eval')")`)
    assert.match(
      evaluated.message,
      /^TypeError: in eval\n {4}at <eval> \(<input>:1:\d+\)\n {4}at default \(script\.mjs:1:\d+\)$/
    )
    const logged = await success(`export default async () => { await null; console.error(new RangeError("logged")) }`)
    assert.match(logged.logs[0]!.message, /^RangeError: logged\n {4}at default \(script\.mjs:1:\d+\)$/)
    const unsendable = await failure(`export default () => ({ statusCode: 200, body: { big: 1n } })`)
    assert.strictEqual(unsendable.reason, "InvalidResponse")
    assert.strictEqual(unsendable.message, "TypeError: Do not know how to serialize a BigInt")
    const patched = await success(
      `export default () => { String.prototype.indexOf = () => -1; RegExp.prototype.exec = () => [""]; console.log(new Error("patched")) }`
    )
    assert.match(patched.logs[0]!.message, /^Error: patched\n {4}at default \(script\.mjs:1:\d+\)$/)
    for (
      const text of [
        thrown.message,
        parsed.message,
        evaluated.message,
        logged.logs[0]!.message,
        unsendable.message,
        patched.logs[0]!.message
      ]
    ) {
      assert.notMatch(text, /prelude/)
    }
  })

  it("an infinite loop is a Timeout near its deadline", async () => {
    const started = Date.now()
    const r = await failure(`export default () => { for (;;) {} }`, { timeoutMs: 200 })
    assert.strictEqual(r.reason, "Timeout")
    assert.isBelow(Date.now() - started, 1500)
  })

  it("a promise that never settles, and a microtask storm, are Timeouts", async () => {
    assert.strictEqual(
      (await failure(`export default () => new Promise(() => {})`, { timeoutMs: 200 })).reason,
      "Timeout"
    )
    const started = Date.now()
    const storm = await failure(
      `export default async () => { const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {}) }`,
      { timeoutMs: 200 }
    )
    assert.strictEqual(storm.reason, "Timeout")
    assert.isBelow(Date.now() - started, 1500)
  })

  it("deep recursion is a StackLimit, and the engine carries on", async () => {
    const r = await failure(`export default function f() { return f() + 1 }`)
    assert.strictEqual(r.reason, "StackLimit")
    assert.strictEqual((await success(`export default () => 1 + 2`)).body, "3")
  })

  it("memory bombs are MemoryLimit, and the next script runs fine", async () => {
    for (
      const bomb of [
        `export default () => { const a = []; for (;;) a.push([1, 2, 3, 4]) }`,
        `export default () => { const a = []; for (;;) a.push(new Float64Array(1 << 20)) }`,
        `export default () => { let s = "x"; for (;;) s += s }`,
        `export default () => { const m = new Map(); for (let i = 0;; i++) m.set(i, { i }) }`
      ]
    ) {
      const r = await failure(bomb, { timeoutMs: 10_000 })
      assert.strictEqual(r.reason, "MemoryLimit", `${bomb}: ${r.message}`)
      assert.strictEqual((await success(`export default () => 1 + 2`)).body, "3")
    }
  })

  it("a dropped big sandbox is collected once the turn is done, where the process exposes gc; a small one is not", async () => {
    const global = globalThis as { gc?: () => void }
    const original = global.gc
    let collections = 0
    global.gc = () => void collections++
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    try {
      await success(`export default () => "small"`, { timeoutMs: 1000 })
      assert.strictEqual((await failure(`export default () => { throw new Error("no") }`)).reason, "ScriptThrew")
      await turn()
      assert.strictEqual(collections, 0)
      const bomb = await failure(`export default () => { const a = []; for (;;) a.push([1, 2, 3, 4]) }`, {
        timeoutMs: 10_000
      })
      assert.strictEqual(bomb.reason, "MemoryLimit")
      assert.strictEqual(collections, 0, "not while the turn runs")
      await turn()
      assert.strictEqual(collections, 1)
    } finally {
      if (original === undefined) delete global.gc
      else global.gc = original
    }
  })

  it("no default export, a compile error or an import cannot run", async () => {
    assert.strictEqual((await failure(`export const x = 1`)).reason, "NoDefaultExport")
    assert.strictEqual((await failure(`export default (`)).reason, "CompileError")
    const imported = await failure(`import os from "os"\nexport default () => os`)
    assert.strictEqual(imported.reason, "CompileError")
    assert.match(imported.message, /imports are not available/)
  })

  it("an invalid response: bad status, bad header, unserializable body", async () => {
    for (
      const source of [
        `export default () => ({ statusCode: 99 })`,
        `export default () => ({ statusCode: 200.5 })`,
        `export default () => ({ statusCode: 200, headers: { "bad header": "x" } })`,
        `export default () => ({ statusCode: 200, headers: { "x-a": "line\\r\\nbreak" } })`,
        `export default () => ({ statusCode: 200, headers: { "x-a": {} } })`,
        `export default () => { const a = {}; a.a = a; return a }`,
        `export default () => () => 1`
      ]
    ) {
      assert.strictEqual((await failure(source)).reason, "InvalidResponse", source)
    }
  })

  it("a response over the limit is ResponseTooLarge", async () => {
    assert.strictEqual((await failure(`export default () => "x".repeat(64 * 1024 + 1)`)).reason, "ResponseTooLarge")
    assert.strictEqual((await success(`export default () => "x".repeat(64 * 1024)`)).body!.length, 64 * 1024)
  })

  it("header names and values count in the response limit", async () => {
    const big = await failure(`export default () => ({ statusCode: 200, headers: { "x-big": "x".repeat(64 * 1024) } })`)
    assert.strictEqual(big.reason, "ResponseTooLarge")
    // 64 KiB in all: a 10-byte header ("x-ab" + "123456") and the body.
    const exact = await success(
      `export default () => ({ statusCode: 200, headers: { "x-ab": "123456" }, body: "y".repeat(64 * 1024 - 10) })`
    )
    assert.strictEqual(exact.headers["x-ab"], "123456")
    const over = await failure(
      `export default () => ({ statusCode: 200, headers: { "x-ab": "1234567" }, body: "y".repeat(64 * 1024 - 10) })`
    )
    assert.strictEqual(over.reason, "ResponseTooLarge")
  })

  it("at most 100 headers", async () => {
    const headers = (n: number) => `Object.fromEntries(Array.from({ length: ${n} }, (_, i) => ["x-h" + i, "v"]))`
    assert.strictEqual(
      Object.keys((await success(`export default () => ({ statusCode: 200, headers: ${headers(100)} })`)).headers)
        .length,
      100
    )
    for (const n of [101, 100_000]) {
      const r = await failure(`export default () => ({ statusCode: 200, headers: ${headers(n)} })`)
      assert.strictEqual(r.reason, "ResponseTooLarge", `${n} headers`)
      assert.match(r.message, /headers/)
    }
  })

  it("a header Node would refuse to send is an InvalidResponse", async () => {
    for (
      const [name, value] of [
        ["x-a", "nul\\u0000"],
        ["x-a", "control\\u0001"],
        ["x-a", "del\\u007f"],
        ["x-a", "euro \\u20ac"],
        ["x-a", "tab\\tis fine but a bare \\r is not"],
        ["x-\\u00e9", "v"],
        ["", "v"],
        ["x:a", "v"]
      ] as const
    ) {
      const source = `export default () => ({ statusCode: 200, headers: { "${name}": "${value}" } })`
      assert.strictEqual((await failure(source)).reason, "InvalidResponse", source)
    }
    const latin1 = await success(`export default () => ({ statusCode: 200, headers: { "x-a": "caf\\u00e9\\tok" } })`)
    assert.strictEqual(latin1.headers["x-a"], "caf\u00e9\tok")
  })
})

describe("Engine.run: isolation", () => {
  it("no host objects: process, require, fetch, timers, even through eval and Function", async () => {
    const r = await success(
      `export default () => [typeof process, typeof require, typeof fetch, typeof setTimeout, eval("typeof process"), Function("return typeof require")(), typeof __picloud_log]`
    )
    assert.deepStrictEqual(JSON.parse(r.body!), Array(7).fill("undefined"))
  })

  it("what one execution does to globals and prototypes is gone in the next", async () => {
    await success(
      `export default () => { Object.prototype.leak = 1; globalThis.leak = 2; JSON.stringify = () => "hacked"; Array.prototype.map = null }`
    )
    const r = await success(
      `export default () => ({ proto: ({}).leak ?? null, global: globalThis.leak ?? null, arr: [1].map((x) => x + 1) })`
    )
    assert.deepStrictEqual(JSON.parse(r.body!), { proto: null, global: null, arr: [2] })
  })

  it("a script that overwrites JSON.stringify or console still gets its response out", async () => {
    const r = await success(
      `export default () => { JSON.stringify = () => "hacked"; console = null; return { fine: true } }`
    )
    assert.strictEqual(r.body, `{"fine":true}`)
  })
})

describe("Engine.run: crypto", () => {
  it("crypto.randomUUID gives RFC 4122 version 4 UUIDs, all different", async () => {
    const r = await success(`export default () => Array.from({ length: 1000 }, () => crypto.randomUUID())`)
    const uuids: Array<string> = JSON.parse(r.body!)
    for (const uuid of uuids) {
      assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
    assert.strictEqual(new Set(uuids).size, uuids.length)
  })

  it("crypto.getRandomValues fills any integer typed array (or a view into one) in place and returns it", async () => {
    const r = await success(`export default () => {
      const bytes = new Uint8Array(65536)
      const same = crypto.getRandomValues(bytes) === bytes
      const counts = new Array(256).fill(0)
      for (const b of bytes) counts[b]++
      const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array]
        .map((T) => crypto.getRandomValues(new T(8)).some((x) => x != 0))
      const outer = new Uint8Array(16)
      crypto.getRandomValues(outer.subarray(4, 12))
      const untouched = [...outer.slice(0, 4), ...outer.slice(12)].every((x) => x === 0)
      const empty = crypto.getRandomValues(new Uint8Array(0)).length
      return { same, min: Math.min(...counts), max: Math.max(...counts), kinds, untouched, empty }
    }`)
    const body = JSON.parse(r.body!)
    assert.isTrue(body.same)
    // 65,536 uniform bytes: each value ~256 times; far outside [150, 380] is not random.
    assert.isAbove(body.min, 150)
    assert.isBelow(body.max, 380)
    assert.deepStrictEqual(body.kinds, Array(9).fill(true))
    assert.isTrue(body.untouched)
    assert.strictEqual(body.empty, 0)
  })

  it("crypto.getRandomValues takes at most 65,536 bytes a call, and integer typed arrays only", async () => {
    const r = await success(`export default () => {
      const error = (f) => { try { f(); return null } catch (e) { return { name: e.name, isError: e instanceof Error, message: e.message } } }
      return {
        limit: error(() => crypto.getRandomValues(new Uint8Array(65536))),
        over: error(() => crypto.getRandomValues(new Uint8Array(65537))),
        wideOver: error(() => crypto.getRandomValues(new Uint32Array(16385))),
        float: error(() => crypto.getRandomValues(new Float64Array(4))),
        dataView: error(() => crypto.getRandomValues(new DataView(new ArrayBuffer(4)))),
        array: error(() => crypto.getRandomValues([1, 2, 3])),
        nothing: error(() => crypto.getRandomValues()),
        disguised: error(() => crypto.getRandomValues(Object.create(Uint8Array.prototype)))
      }
    }`)
    const body = JSON.parse(r.body!)
    assert.isNull(body.limit)
    for (const key of ["over", "wideOver"]) {
      assert.strictEqual(body[key].name, "QuotaExceededError", key)
      assert.isTrue(body[key].isError, key)
    }
    for (const key of ["float", "dataView", "array", "nothing", "disguised"]) {
      assert.strictEqual(body[key].name, "TypeError", key)
    }
  })

  it("the host's random source is out of the script's reach", async () => {
    const r = await success(`export default () => {
      Reflect.apply = () => { throw new Error("patched") }
      Function.prototype.call = Function.prototype.apply = Reflect.apply
      Uint8Array.prototype.set = Reflect.apply
      Object.defineProperty(Object.prototype, "Float64Array", { value: true })
      const names = Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__picloud"))
      const float = (() => { try { crypto.getRandomValues(new Float64Array(1)); return "filled" } catch (e) { return e.name } })()
      return { names, random: typeof __picloud_random, viaEval: eval("typeof __picloud_random"), uuid: crypto.randomUUID().length, bytes: crypto.getRandomValues(new Uint8Array(4)).length, float }
    }`)
    assert.deepStrictEqual(JSON.parse(r.body!), {
      names: [],
      random: "undefined",
      viaEval: "undefined",
      uuid: 36,
      bytes: 4,
      float: "TypeError"
    })
  })
})

describe("Engine.run: warm sandboxes", () => {
  const counter = `let n = 0\nexport default (req, ctx) => { n++; if (req && req.query.loop) { for (;;) {} } return n }`
  const count = async (source: string, overrides?: Parameters<typeof execRequest>[1]) =>
    Number((await success(source, overrides)).body)

  it("a script version keeps its module scope between executions", async () => {
    const source = counter + "\n// keeps"
    assert.deepStrictEqual([await count(source), await count(source), await count(source)], [1, 2, 3])
  })

  it("a new version starts afresh", async () => {
    const source = counter + "\n// versions"
    await count(source)
    await count(source)
    const v4 = execRequest(source)
    assert.strictEqual(await count(source, { script: { ...v4.script, version: 4 } }), 1)
  })

  it("a limit hit throws the sandbox away; a script's own error does not", async () => {
    const source = counter + "\n// limits"
    const loop = execRequest(source)
    assert.strictEqual(await count(source), 1)
    const timedOut = await failure(source, { timeoutMs: 100, request: { ...loop.request!, query: { loop: "1" } } })
    assert.strictEqual(timedOut.reason, "Timeout")
    assert.strictEqual(await count(source), 1, "reset after the timeout")

    const flaky = `let n = 0\nexport default () => { n++; if (n === 2) throw new Error("second call"); return n }`
    assert.strictEqual(await count(flaky), 1)
    assert.strictEqual((await failure(flaky)).reason, "ScriptThrew")
    assert.strictEqual(await count(flaky), 3, "kept after the script's own throw")
  })

  it("the least recently used sandbox is evicted past the limit", async () => {
    const sources = Array.from({ length: 5 }, (_, i) => `${counter}\n// lru ${i}`)
    for (const source of sources) await count(source)
    assert.strictEqual(await count(sources[4]!), 2, "recent: still warm")
    assert.strictEqual(await count(sources[0]!), 1, "oldest: evicted by the fifth")
  })

  it("with warmScripts 0 every execution gets a fresh sandbox", async () => {
    const cold = await Engine.make({ ...engine.limits, warmScripts: 0 })
    const request = execRequest(counter + "\n// cold")
    for (let i = 0; i < 3; i++) {
      const result = await cold.run(request)
      assert.isTrue(result.ok && result.response.body === "1")
    }
  })
})

describe("Engine.run: memory isolation between script versions", () => {
  const limits = {
    memoryMb: 64,
    stackBytes: 256 * 1024,
    maxLogBytes: 1024,
    maxResponseBytes: 64 * 1024,
    warmScripts: 4,
    warmMemoryMb: 256,
    maxHostCalls: 1000
  }
  /** Keeps ~55 MB in module scope: most of one sandbox's 64 MiB, and all a shared memory could spare. */
  const holder = (tag: string) =>
    `let calls = 0
const held = []
for (let i = 0; i < 55; i++) held.push(new Uint8Array(1 << 20).fill(i + 1))
export default () => ({ calls: ++calls, held: held.length }) // ${tag}`
  const appA = { app: { id: "app-a", name: "a" } }
  const appB = { app: { id: "app-b", name: "b" } }
  const runOn = async (engine: Engine, source: string, overrides?: Parameters<typeof execRequest>[1]) => {
    const result = await engine.run(execRequest(source, overrides))
    if (!result.ok) throw new Error(`expected success, got ${result.reason}: ${result.message}`)
    return JSON.parse(result.response.body!)
  }

  it("a script holding most of its memory warm does not make another app's script fail", async () => {
    const isolated = await Engine.make(limits)
    assert.deepStrictEqual(await runOn(isolated, holder("a"), appA), { calls: 1, held: 55 })
    const b = `export default () => new Uint8Array(16 << 20).fill(7).length`
    for (let i = 0; i < 3; i++) assert.strictEqual(await runOn(isolated, b, appB), 16 << 20)
    assert.deepStrictEqual(await runOn(isolated, holder("a"), appA), { calls: 2, held: 55 }, "A is still warm")
  })

  it("a memory limit hit is charged to the script that hit it: another script's warm sandbox survives", async () => {
    const isolated = await Engine.make(limits)
    assert.deepStrictEqual(await runOn(isolated, holder("survivor"), appA), { calls: 1, held: 55 })
    const bomb = await isolated.run(
      execRequest(`export default () => { const a = []; for (;;) a.push(new Uint8Array(1 << 20)) }`, {
        ...appB,
        timeoutMs: 10_000
      })
    )
    assert.isFalse(bomb.ok)
    if (!bomb.ok) assert.strictEqual(bomb.reason, "MemoryLimit")
    assert.deepStrictEqual(
      await runOn(isolated, holder("survivor"), appA),
      { calls: 2, held: 55 },
      "A kept its module scope"
    )
  })

  it("idle warm sandboxes hold at most warmMemoryMb: the least recently used go first", async () => {
    const budgeted = await Engine.make({ ...limits, warmMemoryMb: 100, maxHostCalls: 1000 })
    const [first, second] = [holder("budget 1"), holder("budget 2")]
    assert.strictEqual((await runOn(budgeted, first, appA)).calls, 1)
    assert.strictEqual((await runOn(budgeted, second, appB)).calls, 1)
    assert.isAtMost(budgeted.warmMemoryBytes, 100 * 1024 * 1024)
    assert.strictEqual((await runOn(budgeted, second, appB)).calls, 2, "the most recent is still warm")
    assert.strictEqual((await runOn(budgeted, first, appA)).calls, 1, "the older one was evicted to fit the budget")
  })
})
