import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import type { ExecutionTreeNode } from "../../../src/domain/Execution.ts"
import type { ExecutionId } from "../../../src/domain/Ids.ts"
import { type NewJob, OutboxRepo } from "../../../src/domain/OutboxRepo.ts"
import { DEFAULT_RETRY_POLICY } from "../../../src/domain/RetryPolicy.ts"
import { uuidv7 } from "../../../src/domain/uuidv7.ts"
import * as Memory from "../../../src/runtime/Memory.ts"
import * as StorageMemory from "../../../src/runtime/StorageMemory.ts"
import { ADMIN_TOKEN, makeClient, memoryPlatform } from "../../support/client.ts"

/**
 * The memory platform, and its outbox: KV trigger rows are enqueued here as the KV fan-out will
 * (`enqueueAll`), for the dispatcher to run.
 */
const platformWithOutbox = Effect.gen(function*() {
  let outbox: OutboxRepo["Service"] | undefined
  const storage = StorageMemory.layer.pipe(
    Layer.tap((services) => Effect.sync(() => (outbox = Context.get(services, OutboxRepo))))
  )
  const { handler, dispose } = HttpRouter.toWebHandler(Memory.layer(ADMIN_TOKEN, {}, storage), {
    disableLogger: true
  })
  yield* Effect.addFinalizer(() => Effect.promise(dispose))
  const call = makeClient(handler)
  // The first request builds the platform.
  yield* call("GET", "/health", { token: null })
  return { call, outbox: outbox! }
})

/** The recorded execution, once it has one. */
const recorded = (call: ReturnType<typeof makeClient>, id: string) =>
  Effect.gen(function*() {
    let reply = yield* call("GET", `/api/admin/executions/${id}`)
    for (let i = 0; i < 100 && reply.status === 404; i++) {
      yield* Effect.sleep("20 millis")
      reply = yield* call("GET", `/api/admin/executions/${id}`)
    }
    assert.strictEqual(reply.status, 200, reply.text)
    return reply.json
  })

/** The tree with its nodes' fields that vary from run to run left out, and children in id order. */
const shape = (node: ExecutionTreeNode): unknown => ({
  id: node.id,
  script_name: node.script_name,
  invocation: node.invocation,
  status: node.status,
  trigger_id: node.trigger_id,
  trigger_depth: node.trigger_depth,
  started: node.started_at === null ? null : typeof node.started_at,
  children: [...node.children].sort((a, b) => (a.id < b.id ? -1 : 1)).map(shape)
})

describe("admin API: executions", () => {
  it.live("GET /executions?app=&status=: one app's (one the caller manages), ended one way", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const PASSWORD = "correct horse battery staple"
      for (const name of ["shop", "blog"]) {
        assert.strictEqual((yield* call("POST", "/api/admin/apps", { body: { name } })).status, 201)
        for (
          const [script, source] of [["ok", "export default () => 1"], ["boom", "export default () => { throw 1 }"]]
        ) {
          const created = yield* call("POST", "/api/admin/scripts", { body: { app: name, name: script, source } })
          assert.strictEqual(created.status, 201, created.text)
          yield* call("GET", `/api/execute/${name}/${script}`)
        }
      }
      const list = (query: string, token?: string) =>
        call("GET", `/api/admin/executions?${query}`, token === undefined ? {} : { token })
      const names = (reply: { json: any }) => reply.json.items.map((e: any) => e.script_name).sort()
      assert.deepStrictEqual(names(yield* list("app=shop")), ["boom", "ok"])
      assert.deepStrictEqual(names(yield* list("status=failed")), ["boom", "boom"])
      assert.deepStrictEqual(names(yield* list("app=blog&status=succeeded")), ["ok"])
      const bad = yield* list("status=exploded")
      assert.strictEqual(bad.status, 400, bad.text)
      assert.include(bad.json.error.message, "status")
      assert.strictEqual((yield* list("app=nope")).status, 404)
      const created = yield* call("POST", "/api/admin/users", {
        body: { username: "dev", password: PASSWORD, role: "developer", apps: ["shop"] }
      })
      assert.strictEqual(created.status, 201, created.text)
      const dev =
        (yield* call("POST", "/api/admin/login", { token: null, body: { username: "dev", password: PASSWORD } }))
          .json.secret
      assert.deepStrictEqual(names(yield* list("status=failed", dev)), ["boom"])
      assert.strictEqual((yield* list("app=blog", dev)).status, 404, "an app it is not granted does not exist")
    }))

  it.live("GET /executions?script= takes a script id: anything else is a 400 saying so", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const bad = yield* call("GET", "/api/admin/executions?script=abc")
      assert.strictEqual(bad.status, 400, bad.text)
      assert.include(bad.json.error.message, "script")
      const ok = yield* call("GET", "/api/admin/executions?script=6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11")
      assert.strictEqual(ok.status, 200, ok.text)
      assert.deepStrictEqual(ok.json.items, [])
      const invocation = yield* call("GET", "/api/admin/executions?invocation=cron")
      assert.strictEqual(invocation.status, 400, invocation.text)
      assert.include(invocation.json.error.message, "invocation")
    }))

  it.live("GET /executions/{id}/tree: the executions below one by parent, with their status, and the rows still queued for them", () =>
    Effect.gen(function*() {
      const { call, outbox } = yield* platformWithOutbox
      yield* call("POST", "/api/admin/apps", { body: { name: "shop" } })
      const sources = {
        writer: "export default (req, ctx) => ctx.principal.user_id",
        ok:
          "export default (req, ctx) => ({ invocation: ctx.invocation, event: ctx.event, depth: ctx.triggerDepth, root: ctx.rootExecutionId, request: req === undefined })",
        boom: "export default () => { throw new Error('boom') }"
      }
      const ids: Record<string, string> = {}
      for (const [name, source] of Object.entries(sources)) {
        const created = yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name, source } })
        assert.strictEqual(created.status, 201, created.text)
        ids[name] = created.json.id
      }
      const app = (yield* call("GET", "/api/admin/apps/shop")).json.id
      // A sync request: the root. It answers with who it ran as: the registrant of the triggers below.
      const write = yield* call("POST", "/api/execute/shop/writer")
      const root = write.headers.get("x-picloud-execution-id")!
      const registrant = write.text

      /** A row a KV write of `parent` triggered, as the fan-out writes it. */
      const triggered = (script: string, parent: string, depth: number, retry = DEFAULT_RETRY_POLICY): NewJob => {
        const id = uuidv7() as ExecutionId
        const trigger_id = crypto.randomUUID()
        return {
          id,
          app_id: app,
          script_id: ids[script]!,
          kind: "kv",
          payload: {
            event: {
              op: "set",
              key: `k/${depth}`,
              value: depth,
              old_value: null,
              version: 1,
              app,
              trigger_id,
              at: new Date().toISOString()
            },
            registrant_user_id: registrant
          },
          retry,
          lease_seconds: 60,
          accepted_at: new Date().toISOString(),
          lineage: { root_execution_id: root, parent_execution_id: parent, trigger_depth: depth, trigger_id },
          dead_letter_script_id: null
        }
      }
      const a = triggered("ok", root, 1)
      // Fails, and waits an hour for its retry: still in the outbox.
      const b = triggered("boom", root, 1, { ...DEFAULT_RETRY_POLICY, initial_delay_ms: 3_600_000, jitter: false })
      yield* outbox.enqueueAll([a, b])
      const ran = yield* recorded(call, a.id)
      assert.deepStrictEqual(JSON.parse(ran.result.body), {
        invocation: "kv",
        event: a.kind === "kv" ? a.payload.event : null,
        depth: 1,
        root,
        request: true
      })
      const c = triggered("ok", a.id, 2)
      const tooDeep = triggered("ok", a.id, 9)
      yield* outbox.enqueueAll([c, tooDeep])
      yield* recorded(call, c.id)
      assert.strictEqual((yield* recorded(call, tooDeep.id)).status, "depth_exceeded")
      for (
        let i = 0;
        i < 100 && (yield* call("GET", `/api/executions/${b.id}`, { token: null })).json.status !== "failed";
        i++
      ) {
        yield* Effect.sleep("20 millis")
      }

      const tree = yield* call("GET", `/api/admin/executions/${root}/tree`)
      assert.strictEqual(tree.status, 200, tree.text)
      assert.deepStrictEqual([tree.json.nodes, tree.json.truncated], [5, false])
      const node = (
        id: string,
        script: string,
        invocation: string,
        status: string,
        depth: number,
        trigger: string | null,
        children: Array<unknown> = []
      ) => ({
        id,
        script_name: script,
        invocation,
        status,
        trigger_id: trigger,
        trigger_depth: depth,
        started: status === "queued" ? null : "string",
        children: children.sort((x, y) => ((x as { id: string }).id < (y as { id: string }).id ? -1 : 1))
      })
      const trigger = (job: NewJob) => job.lineage.trigger_id
      const below = [
        node(a.id, "ok", "kv", "succeeded", 1, trigger(a), [
          node(c.id, "ok", "kv", "succeeded", 2, trigger(c)),
          node(tooDeep.id, "ok", "kv", "depth_exceeded", 9, trigger(tooDeep))
        ]),
        node(b.id, "boom", "kv", "queued", 1, trigger(b))
      ]
      assert.deepStrictEqual(shape(tree.json.root), node(root, "writer", "http", "succeeded", 0, null, below))
      assert.strictEqual(tree.json.root.children.at(-1).id, b.id, "queued rows come after the recorded ones")

      const fromA = yield* call("GET", `/api/admin/executions/${a.id}/tree`)
      assert.deepStrictEqual([fromA.json.root.id, fromA.json.nodes], [a.id, 3])
      const unknown = yield* call("GET", `/api/admin/executions/${crypto.randomUUID()}/tree`)
      assert.strictEqual(unknown.status, 404, unknown.text)
      assert.strictEqual(unknown.json.error.code, "execution_not_found")
      const queued = yield* call("GET", `/api/admin/executions/${b.id}/tree`)
      assert.strictEqual(queued.status, 404, "a row still queued has no record to root a tree")
    }))

  it.live("GET /executions/{id} shows the attempts: one for a sync execution; every one, with its error and logs, for an async one", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const source = `export default () => { console.log("trying at " + Date.now()); throw new Error("still broken") }`
      for (const [name, code] of [["hi", "export default () => 'hi'"], ["flaky", source]]) {
        assert.strictEqual((yield* call("POST", "/api/admin/scripts", { body: { name, source: code } })).status, 201)
      }
      const ran = yield* call("GET", "/api/execute/default/hi")
      const sync = (yield* call("GET", `/api/admin/executions/${ran.headers.get("x-picloud-execution-id")}`)).json
      assert.strictEqual(sync.attempt_count, 1)
      assert.deepStrictEqual(sync.attempts, [{
        attempt: 1,
        status: "succeeded",
        status_code: 200,
        error: null,
        started_at: sync.started_at,
        duration_ms: sync.duration_ms,
        logs: [],
        logs_truncated: false
      }])

      const retry = { backoff: "constant", initial_delay_ms: 50, max_attempts: 3, jitter: false }
      const route = { method: "POST", path: "/flaky", script: "flaky", dispatch_mode: "async", retry }
      assert.strictEqual((yield* call("POST", "/api/admin/routes", { body: route })).status, 201)
      const { execution_id } = (yield* call("POST", "/default/flaky", { token: null })).json
      const ended = yield* call("GET", `/api/executions/${execution_id}?wait=10`, { token: null })
      assert.strictEqual(ended.json.status, "dead_lettered", ended.text)

      const detail = (yield* call("GET", `/api/admin/executions/${execution_id}`)).json
      assert.deepStrictEqual([detail.status, detail.attempt_count], ["dead_lettered", 3])
      assert.deepStrictEqual(
        detail.attempts.map((a: any) => [a.attempt, a.status, a.status_code, a.error.code, a.logs.length]),
        [1, 2, 3].map((n) => [n, "failed", 502, "script_error", 1])
      )
      const starts = detail.attempts.map((a: any) => Date.parse(a.started_at))
      assert.isTrue(starts[0] < starts[1] && starts[1] < starts[2], "in order")
      // Each attempt keeps its own logs; the last is the record's.
      assert.strictEqual(new Set(detail.attempts.map((a: any) => a.logs[0].message)).size, 3)
      assert.deepStrictEqual(detail.attempts[2].logs, detail.logs)
      // A listing shows records, with their attempt count.
      const listed = (yield* call("GET", "/api/admin/executions?invocation=http")).json.items
      assert.deepInclude(listed.find((r: { id: string }) => r.id === execution_id), { attempts: 3, kv_key: null })
    }))
})
