import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { exitWithin, freePort, jsonClient, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-triggers-token"
const PASSWORD = "correct horse battery"
const dirs: Array<string> = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "picloud-triggers-"))
  dirs.push(dir)
  return dir
}
let picloud: Awaited<ReturnType<typeof startPicloud>>

beforeAll(async () => {
  picloud = await startPicloud({ dataDir: tempDir(), port: await freePort(), env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
}, 120_000)
afterAll(async () => {
  picloud?.child.kill("SIGTERM")
  await picloud?.exited
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }))
}, 60_000)

const client = (base: () => string) => jsonClient(base, TOKEN)
const request = client(() => picloud.url)
type Request = typeof request

const expectStatus = async (pending: ReturnType<Request>, status: number) => {
  const res = await pending
  assert.strictEqual(res.status, status, res.text)
  return res.json
}

const deploy = (call: Request, name: string, source: string) =>
  expectStatus(call("POST", "/api/admin/scripts", { name, source }), 201).then((script) => script.id as string)
const put = (call: Request, key: string, value: unknown) =>
  expectStatus(call("PUT", `/api/admin/apps/default/kv/${encodeURIComponent(key)}`, value), 200)
const keys = async (call: Request, prefix: string) => {
  const page = await expectStatus(
    call("GET", `/api/admin/apps/default/kv?prefix=${encodeURIComponent(prefix)}&limit=100`),
    200
  )
  return page.items as Array<{ key: string; value: any }>
}
const executionsOf = async (call: Request, scriptId: string) =>
  (await expectStatus(call("GET", `/api/admin/executions?script=${scriptId}&limit=200`), 200)).items as Array<any>

/** Polls `check` until it returns something other than `undefined`, or fails after `ms`. */
const eventually = async <A>(what: string, check: () => Promise<A | undefined>, ms = 20_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500))

/** A script that records each event it gets under `seen/<key>@<version>`, with what its context says. */
const AUDIT = `export default async (req, ctx) => {
  await kv.set("seen/" + ctx.event.key + "@" + ctx.event.version, {
    event: ctx.event, principal: ctx.principal, invocation: ctx.invocation, request: req === undefined ? "absent" : req,
    depth: ctx.triggerDepth, root: ctx.rootExecutionId, executionId: ctx.executionId
  })
}`

describe("e2e: KV triggers on PostgreSQL", () => {
  let writerExecution = ""
  let triggerId = ""

  it("a trigger on orders/* fires once per matching write, with the event, as its registrant", async () => {
    // A developer of the default app registers it: triggered runs are theirs.
    await expectStatus(
      request("POST", "/api/admin/users", {
        username: "dev",
        password: PASSWORD,
        role: "developer",
        apps: ["default"]
      }),
      201
    )
    const login = await expectStatus(request("POST", "/api/admin/login", { username: "dev", password: PASSWORD }), 201)
    const audit = await deploy(request, "audit", AUDIT)
    const trigger = await expectStatus(
      request("POST", "/api/admin/triggers", { script: "audit", key_pattern: "orders/*" }, login.secret),
      201
    )
    triggerId = trigger.id
    await deploy(
      request,
      "writer",
      `export default async () => {
        await kv.set("orders/1", { qty: 1 })
        await kv.set("orders/2", { qty: 2 })
        await kv.delete("orders/1")
        await kv.delete("orders/never")
        await kv.set("orders/1/items", 1)
        await kv.set("other/1", 1)
        return "ok"
      }`
    )
    // Called twice: each call sets orders/1 (version 1), sets orders/2 (1, then 2) and deletes
    // orders/1; the delete of an absent key, orders/1/items and other/1 fire nothing.
    assert.strictEqual((await request("POST", "/api/execute/writer")).status, 200)
    const res = await request("POST", "/api/execute/writer")
    assert.strictEqual(res.status, 200, res.text)
    writerExecution = res.headers.get("x-picloud-execution-id")!
    await eventually(
      "six triggered runs",
      async () => (await executionsOf(request, audit)).length >= 6 ? true : undefined
    )
    await settle()
    const runs = await executionsOf(request, audit)
    assert.strictEqual(runs.length, 6, "one run per matching write, no more")
    assert.isTrue(runs.every((run) => run.status === "succeeded" && run.invocation === "kv"))
    const all = await keys(request, "seen/")
    assert.deepStrictEqual(all.map((item) => item.key), [
      "seen/orders/1@0",
      "seen/orders/1@1",
      "seen/orders/2@1",
      "seen/orders/2@2"
    ])
    const created = all.find((item) => item.key === "seen/orders/2@2")!.value
    assert.deepInclude(created.event, {
      op: "set",
      key: "orders/2",
      value: { qty: 2 },
      old_value: { qty: 2 },
      version: 2,
      trigger_id: trigger.id
    })
    assert.isString(created.event.app)
    assert.isTrue(Math.abs(Date.parse(created.event.at) - Date.now()) < 60_000)
    assert.strictEqual(created.principal.username, "dev")
    assert.strictEqual(created.invocation, "kv")
    assert.strictEqual(created.request, "absent")
    assert.strictEqual(created.depth, 1)
    assert.strictEqual(created.root, writerExecution)
    const deleted = all.find((item) => item.key === "seen/orders/1@0")!.value
    assert.deepInclude(deleted.event, { op: "delete", key: "orders/1", value: null, old_value: { qty: 1 }, version: 0 })
  }, 60_000)

  it("the causal tree of the request lists the runs its writes triggered", async () => {
    const tree = await eventually("the tree's three children", async () => {
      const answer = await expectStatus(request("GET", `/api/admin/executions/${writerExecution}/tree`), 200)
      return answer.root.children.length === 3 && answer.root.children.every((c: any) => c.status === "succeeded")
        ? answer
        : undefined
    })
    assert.strictEqual(tree.root.id, writerExecution)
    assert.strictEqual(tree.root.invocation, "http")
    for (const child of tree.root.children) {
      assert.deepInclude(child, { invocation: "kv", trigger_id: triggerId, trigger_depth: 1, script_name: "audit" })
    }
    assert.isFalse(tree.truncated)
  })

  it("a script that writes then throws leaves neither the value nor a triggered run", async () => {
    await deploy(
      request,
      "half",
      `export default async () => { await kv.set("orders/half", 1); throw new Error("no") }`
    )
    assert.strictEqual((await request("POST", "/api/execute/half")).status, 502)
    await settle()
    assert.strictEqual((await request("GET", "/api/admin/apps/default/kv/orders%2Fhalf")).status, 404)
    assert.deepStrictEqual((await keys(request, "seen/orders/half")).length, 0)
  })

  it("a self-triggering script stops at depth 8: exactly 8 executions plus one depth_exceeded", async () => {
    const loop = await deploy(
      request,
      "loop",
      `export default async (req, ctx) => { await kv.set("loop/n", ctx.triggerDepth) }`
    )
    await expectStatus(request("POST", "/api/admin/triggers", { script: "loop", key_pattern: "loop/n" }), 201)
    await put(request, "loop/n", 0)
    await eventually(
      "the depth_exceeded record",
      async () => (await executionsOf(request, loop)).some((e) => e.status === "depth_exceeded") ? true : undefined
    )
    await settle()
    const runs = await executionsOf(request, loop)
    assert.strictEqual(runs.filter((e) => e.status === "succeeded").length, 8)
    const exceeded = runs.filter((e) => e.status === "depth_exceeded")
    assert.strictEqual(exceeded.length, 1)
    assert.strictEqual(exceeded[0].trigger_depth, 9)
    assert.strictEqual(exceeded[0].error.code, "depth_exceeded")
    assert.strictEqual(runs.length, 9)
    assert.deepInclude(await expectStatus(request("GET", "/api/admin/apps/default/kv/loop%2Fn"), 200), { value: 8 })
    const letters = await expectStatus(request("GET", "/api/admin/dead-letters?app=default"), 200)
    assert.isFalse(letters.items.some((letter: any) => letter.script_id === loop))
  }, 60_000)

  it("a dead-lettered triggered run runs its dead-letter script once: handler_failed, or handled", async () => {
    await deploy(request, "fails", `export default () => { throw new Error("always") }`)
    await deploy(request, "bad-handler", `export default () => { throw new Error("the handler broke too") }`)
    await deploy(
      request,
      "good-handler",
      `export default async (req, ctx) => { await kv.set("handled/" + ctx.event.dead_letter.id, ctx.event.dead_letter.error) }`
    )
    const once = { max_attempts: 1 }
    for (const [pattern, handler] of [["fail/*", "bad-handler"], ["fine/*", "good-handler"]]) {
      await expectStatus(
        request("POST", "/api/admin/triggers", {
          script: "fails",
          key_pattern: pattern,
          retry: once,
          dead_letter_script: handler
        }),
        201
      )
    }
    await put(request, "fail/1", 1)
    await put(request, "fine/1", 1)
    const resolved = await eventually("both resolutions", async () => {
      const letters = (await expectStatus(request("GET", "/api/admin/dead-letters?app=default"), 200)).items as Array<
        any
      >
      const mine = letters.filter((letter) => letter.invocation === "kv" && /^(fail|fine)\/1$/.test(letter.event?.key))
      return mine.length === 2 && mine.every((letter) => letter.resolution !== "pending") ? mine : undefined
    })
    const failed = resolved.find((letter) => letter.event.key === "fail/1")
    assert.strictEqual(failed.resolution, "handler_failed")
    assert.strictEqual(failed.resolution_error.code, "script_error")
    assert.match(failed.resolution_error.message, /the handler broke too/)
    assert.strictEqual(failed.error.code, "script_error")
    const handled = resolved.find((letter) => letter.event.key === "fine/1")
    assert.strictEqual(handled.resolution, "handled")
    const note = await expectStatus(
      request("GET", `/api/admin/apps/default/kv/${encodeURIComponent(`handled/${handled.id}`)}`),
      200
    )
    assert.strictEqual(note.value.code, "script_error")
  }, 60_000)
})

describe("e2e: triggered runs survive a kill -9", () => {
  it("writes accepted before the crash all get their triggered run after the restart", async () => {
    const dataDir = tempDir()
    const port = await freePort()
    // Two slots and a slow script: most triggered rows are still queued when the process dies.
    const env = { PICLOUD_ADMIN_TOKEN: TOKEN, PICLOUD_MAX_CONCURRENT_EXECUTIONS: "2" }
    const first = await startPicloud({ dataDir, port, env })
    const call = client(() => first.url)
    const written: Array<string> = []
    try {
      await deploy(
        call,
        "slow-audit",
        `export default async (req, ctx) => {
          const end = Date.now() + 100; while (Date.now() < end) {}
          await kv.set("done/" + ctx.event.key, ctx.event.version)
        }`
      )
      await expectStatus(call("POST", "/api/admin/triggers", { script: "slow-audit", key_pattern: "jobs/*" }), 201)
      for (let i = 0; i < 40; i++) {
        await put(call, `jobs/${i}`, i)
        written.push(`jobs/${i}`)
      }
      // The crash must come between accept and dispatch: some triggered runs are still waiting.
      const doneBeforeCrash = await keys(call, "done/")
      assert.isBelow(doneBeforeCrash.length, written.length)
    } finally {
      first.child.kill("SIGKILL")
      await exitWithin(first)
    }
    const second = await startPicloud({ dataDir, port, env })
    try {
      const again = client(() => second.url)
      const done = await eventually("every triggered run", async () => {
        const page = await expectStatus(again("GET", "/api/admin/apps/default/kv?prefix=done%2F&limit=100"), 200)
        return page.items.length === written.length ? page.items : undefined
      }, 60_000)
      assert.deepStrictEqual(done.map((item: any) => item.key).sort(), written.map((key) => `done/${key}`).sort())
    } finally {
      second.child.kill("SIGTERM")
      await exitWithin(second)
    }
  }, 180_000)
})
