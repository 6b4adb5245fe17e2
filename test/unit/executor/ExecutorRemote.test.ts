import { NodeHttpServer } from "@effect/platform-node"
import { NodeSocket } from "@effect/platform-node"
import { ConfigProvider, Effect, Exit, Layer, Scope, Stream } from "effect"
import { HttpRouter } from "effect/http"
import { RpcClient, RpcSerialization } from "effect/rpc"
import { createServer } from "node:http"
import type { Socket } from "node:net"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort } from "../../../src/db/freePort.ts"
import * as ExecutorInline from "../../../src/executor/ExecutorInline.ts"
import * as ExecutorRemote from "../../../src/executor/ExecutorRemote.ts"
import { ExecutorRpcs } from "../../../src/executor/ExecutorRpc.ts"
import * as ExecutorWorkers from "../../../src/executor/ExecutorWorkers.ts"
import * as ExecutorServer from "../../../src/runtime/ExecutorServer.ts"
import { makeMemoryHandler } from "../../../src/runtime/Memory.ts"
import { ADMIN_TOKEN, makeClient } from "../../support/client.ts"
import { execRequest } from "./request.ts"

/**
 * An executor's RPC server in this process (worker threads behind it, so a busy script does not
 * block the test), on `port`. `crash` takes it away at once: its connections drop.
 */
const startExecutor = async (port: number, config: Record<string, string> = {}) => {
  const scope = Scope.makeUnsafe()
  const sockets = new Set<Socket>()
  const http = createServer().on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  const server = HttpRouter.serve(ExecutorServer.routes, { disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(() => http, { port, host: "127.0.0.1" })),
    Layer.provide(ExecutorWorkers.layer),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_EXECUTOR_THREADS: "1", ...config })))
  )
  await Effect.runPromise(Layer.buildWithScope(server, scope))
  return {
    /** Like a crash: every connection is cut at once, then the server goes. */
    crash: async () => {
      for (const socket of sockets) socket.destroy()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

let port = 0
let executor: { crash: () => Promise<void> }
let platform: ReturnType<typeof makeMemoryHandler>
let call: ReturnType<typeof makeClient>
const run = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)

beforeAll(async () => {
  port = await freePort()
  executor = await startExecutor(port)
  // The orchestrator's whole data plane (memory storage), with the remote executor in place of the
  // local one (the inline validator stays, for uploads).
  platform = makeMemoryHandler(
    ADMIN_TOKEN,
    { PICLOUD_EXECUTOR_URL: `http://127.0.0.1:${port}` },
    Layer.merge(ExecutorInline.layer, ExecutorRemote.layerRemote)
  )
  call = makeClient(platform.handler)
}, 60_000)

afterAll(async () => {
  await platform?.dispose()
  await executor?.crash()
})

const deploy = async (name: string, source: string) => {
  const res = await run(call("POST", "/api/admin/scripts", { body: { name, source } }))
  assert.strictEqual(res.status, 201, res.text)
}

describe("Executor.layerRemote: the orchestrator's executions on an executor over RPC", () => {
  it("runs a script there; its kv calls come back and are answered (and committed) here", async () => {
    await deploy(
      "counter",
      `export default async (req, ctx) => {
        const before = await kv.get("count")
        await kv.set("count", (before ?? 0) + 1)
        return { before, now: await kv.get("count"), app: ctx.app.name }
      }`
    )
    const first = await run(call("POST", "/api/execute/counter"))
    assert.strictEqual(first.status, 200, first.text)
    assert.deepStrictEqual(first.json, { before: null, now: 1, app: "default" })
    const second = await run(call("POST", "/api/execute/counter"))
    assert.deepStrictEqual(second.json, { before: 1, now: 2, app: "default" })
    const stored = await run(call("GET", "/api/admin/apps/default/kv/count"))
    assert.deepInclude(stored.json, { value: 2, version: 2 })
  })

  it("a script's own failure comes back typed, with its logs", async () => {
    await deploy("thrower", `export default () => { console.log("about to"); throw new Error("boom") }`)
    const res = await run(call("POST", "/api/execute/thrower"))
    assert.strictEqual(res.status, 502, res.text)
    assert.strictEqual(res.json.error.code, "script_error")
    assert.match(res.json.error.message, /boom/)
    const record = await run(call("GET", `/api/admin/executions/${res.json.error.execution_id}`))
    assert.deepInclude(record.json.logs[0], { message: "about to" })
  })

  it("an answer for another connection's job is ignored; each job is answered only by its caller", async () => {
    // A connection of its own per call, open for the test's scope.
    const dial = Effect.gen(function*() {
      const protocol = yield* Layer.build(Layer.fresh(
        RpcClient.layerProtocolSocket().pipe(
          Layer.provide(NodeSocket.layerWebSocket(ExecutorRemote.rpcUrl(`http://127.0.0.1:${port}`))),
          Layer.provide(RpcSerialization.layerJson)
        )
      ))
      return yield* RpcClient.make(ExecutorRpcs).pipe(Effect.provide(protocol))
    })
    const result = await run(Effect.scoped(
      Effect.gen(function*() {
        const owner = yield* dial
        const intruder = yield* dial
        const events = owner.execute(execRequest(`export default async () => await kv.get("k")`))
        return yield* events.pipe(
          Stream.runFoldEffect(
            () => "",
            (_, event) =>
              event._tag === "Finished"
                ? Effect.succeed(event.response.body ?? "")
                : Effect.gen(function*() {
                  // The intruder answers first, with the job's own name: it must not count.
                  yield* intruder.answer({ job: event.job, call: event.call, reply: { ok: true, value: "\"stolen\"" } })
                  yield* Effect.sleep("100 millis")
                  yield* owner.answer({ job: event.job, call: event.call, reply: { ok: true, value: "\"mine\"" } })
                  return ""
                })
          )
        )
      }).pipe(Effect.orDie)
    ))
    assert.strictEqual(result, "mine")
  })

  it(
    "an executor that dies fails its executions in flight as executor_crashed; once back, it is used again",
    async () => {
      await deploy(
        "busy",
        `export default () => { const end = Date.now() + 2000; while (Date.now() < end) {} return "done" }`
      )
      await deploy("hello", `export default () => "hello"`)
      const inFlight = run(call("POST", "/api/execute/busy"))
      await new Promise((r) => setTimeout(r, 300))
      await executor.crash()
      const crashed = await inFlight
      assert.strictEqual(crashed.status, 500, crashed.text)
      assert.strictEqual(crashed.json.error.code, "executor_crashed")

      // While it is down: at once, the same error (the orchestrator stays up and says why).
      const down = await run(call("POST", "/api/execute/hello"))
      assert.strictEqual(down.status, 500, down.text)
      assert.strictEqual(down.json.error.code, "executor_crashed")
      // The orchestrator stays up, but says the node cannot run scripts (a load balancer skips it).
      const health = await run(call("GET", "/health"))
      assert.strictEqual(health.status, 503, health.text)
      assert.strictEqual(health.json.error.message, "executor unreachable")

      executor = await startExecutor(port)
      let back = down
      for (let i = 0; i < 100 && back.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100))
        back = await run(call("POST", "/api/execute/hello"))
      }
      assert.strictEqual(back.status, 200, back.text)
      assert.strictEqual(back.text, "hello")
      assert.deepStrictEqual((await run(call("GET", "/health"))).json, { status: "ok", database: "ok", executor: "ok" })
    },
    30_000
  )
})

describe("PICLOUD_EXECUTOR_TOKEN: an executor takes only orchestrators that show its token", () => {
  it("without it (or with another) the upgrade is refused with 401; with it, executions run", async () => {
    const guarded = await freePort()
    const server = await startExecutor(guarded, { PICLOUD_EXECUTOR_TOKEN: "executor-secret" })
    const orchestrator = (token: string) =>
      makeMemoryHandler(
        ADMIN_TOKEN,
        { PICLOUD_EXECUTOR_URL: `http://127.0.0.1:${guarded}`, PICLOUD_EXECUTOR_TOKEN: token },
        Layer.merge(ExecutorInline.layer, ExecutorRemote.layerRemote)
      )
    const [right, wrong] = [orchestrator("executor-secret"), orchestrator("guessed")]
    try {
      const bare = await fetch(`http://127.0.0.1:${guarded}/rpc`)
      assert.strictEqual(bare.status, 401)
      assert.strictEqual(((await bare.json()) as { error: { code: string } }).error.code, "unauthorized")

      for (const platform of [right, wrong]) {
        const res = await run(
          makeClient(platform.handler)("POST", "/api/admin/scripts", {
            body: { name: "hi", source: `export default () => "hi"` }
          })
        )
        assert.strictEqual(res.status, 201, res.text)
      }
      const callRight = makeClient(right.handler)
      let ok = await run(callRight("POST", "/api/execute/hi"))
      for (let i = 0; i < 50 && ok.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100))
        ok = await run(callRight("POST", "/api/execute/hi"))
      }
      assert.strictEqual(ok.text, "hi")
      const refused = await run(makeClient(wrong.handler)("POST", "/api/execute/hi"))
      assert.strictEqual(refused.status, 500, refused.text)
      assert.strictEqual(refused.json.error.code, "executor_crashed")
      assert.strictEqual((await run(makeClient(wrong.handler)("GET", "/health"))).status, 503)
    } finally {
      await right.dispose()
      await wrong.dispose()
      await server.crash()
    }
  }, 30_000)
})
