import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform, ok } from "../../support/client.ts"

type Call = Effect.Success<typeof memoryPlatform>
const PASSWORD = "correct horse battery"

const deploy = (call: Call, name: string, source: string) =>
  call("POST", "/api/admin/scripts", { body: { name, source } }).pipe(Effect.flatMap(ok(201)), Effect.map((s) => s.id))
const trigger = (call: Call, body: Record<string, unknown>, token?: string) =>
  call("POST", "/api/admin/triggers", { body, ...(token ? { token } : {}) }).pipe(Effect.flatMap(ok(201)))
const put = (call: Call, key: string, value: unknown) =>
  call("PUT", `/api/admin/apps/default/kv/${encodeURIComponent(key)}`, { body: JSON.stringify(value) }).pipe(
    Effect.flatMap(ok(200))
  )
const runsOf = (call: Call, scriptId: string) =>
  call("GET", `/api/admin/executions?script=${scriptId}`).pipe(Effect.map((res) => res.json.items as Array<any>))

/** Waits until `check` gives a value, polling the in-memory platform's dispatcher. */
const eventually = <A>(check: Effect.Effect<A | undefined>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const value = yield* check
      if (value !== undefined) return value
      yield* Effect.sleep("25 millis")
    }
    return assert.fail("timed out")
  })

const RECORD = `export default async (req, ctx) => {
  await kv.set("seen/" + ctx.event.key + "@" + ctx.event.version, { ctx: { ...ctx, env: undefined }, event: ctx.event })
}`

describe("KV triggers: fan-out (memory)", () => {
  it.live("GET /executions?trigger= lists the runs of one trigger only; a trigger that is not an id is a 400", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* deploy(call, "record", RECORD)
      const a = yield* trigger(call, { script: "record", key_pattern: "a/*", ops: ["set"] })
      const b = yield* trigger(call, { script: "record", key_pattern: "b/*", ops: ["set"] })
      yield* put(call, "a/1", 1)
      yield* put(call, "a/2", 2)
      yield* put(call, "b/1", 3)
      const runsOfTrigger = (id: string) =>
        call("GET", `/api/admin/executions?trigger=${id}`).pipe(
          Effect.flatMap(ok(200)),
          Effect.map((page) => page.items)
        )
      const ofA = yield* eventually(
        runsOfTrigger(a.id).pipe(Effect.map((r: Array<any>) => (r.length === 2 ? r : undefined)))
      )
      assert.deepStrictEqual(ofA.map((run: any) => run.trigger_id), [a.id, a.id])
      const ofB = yield* eventually(
        runsOfTrigger(b.id).pipe(Effect.map((r: Array<any>) => (r.length === 1 ? r : undefined)))
      )
      assert.strictEqual(ofB[0].trigger_id, b.id)
      const bad = yield* call("GET", "/api/admin/executions?trigger=a%2F1")
      assert.strictEqual(bad.status, 400, bad.text)
      assert.include(bad.json.error.message, "trigger")
    }))

  it.live("GET /executions?app=&key= lists the runs one key's writes triggered, not its pattern's other keys", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* deploy(call, "record", RECORD)
      const a = yield* trigger(call, { script: "record", key_pattern: "a/*", ops: ["set"] })
      yield* put(call, "a/1", 1)
      yield* put(call, "a/2", 2)
      yield* put(call, "a/1", 3)
      const runsOfKey = (key: string) =>
        call("GET", `/api/admin/executions?app=default&key=${encodeURIComponent(key)}`).pipe(
          Effect.flatMap(ok(200)),
          Effect.map((page) => page.items as Array<any>)
        )
      const ofA1 = yield* eventually(runsOfKey("a/1").pipe(Effect.map((r) => (r.length === 2 ? r : undefined))))
      assert.deepStrictEqual(ofA1.map((run) => [run.kv_key, run.trigger_id, run.invocation]), [
        ["a/1", a.id, "kv"],
        ["a/1", a.id, "kv"]
      ])
      const ofA2 = yield* eventually(runsOfKey("a/2").pipe(Effect.map((r) => (r.length === 1 ? r : undefined))))
      assert.strictEqual(ofA2[0].kv_key, "a/2")
      assert.deepStrictEqual(yield* runsOfKey("a/3"), [])
      // Its detail shows the key too.
      assert.strictEqual((yield* call("GET", `/api/admin/executions/${ofA2[0].id}`)).json.kv_key, "a/2")
    }))

  it.live("GET /executions?key= needs app (keys are per app) and a key: 400 otherwise; an unknown app is a 404", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const noApp = yield* call("GET", "/api/admin/executions?key=a%2F1")
      assert.strictEqual(noApp.status, 400, noApp.text)
      assert.deepInclude(noApp.json.error, { code: "bad_request" })
      assert.include(noApp.json.error.message, "app")
      for (const key of ["", "k".repeat(513), "%C3%A9".repeat(257), "a%00b"]) {
        const bad = yield* call("GET", `/api/admin/executions?app=default&key=${key}`)
        assert.strictEqual(bad.status, 400, `${key.slice(0, 20)}: ${bad.text}`)
        assert.include(bad.json.error.message, "key")
      }
      assert.strictEqual((yield* call("GET", `/api/admin/executions?app=default&key=${"k".repeat(512)}`)).status, 200)
      assert.strictEqual((yield* call("GET", "/api/admin/executions?app=nowhere&key=a")).status, 404)
    }))

  it.live("an admin write fires as a root at depth 1; ops and enabled filter what fires", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const record = yield* deploy(call, "record", RECORD)
      yield* trigger(call, { script: "record", key_pattern: "a/*", ops: ["set"] })
      const off = yield* trigger(call, { script: "record", key_pattern: "a/**", enabled: false })
      yield* put(call, "a/1", { n: 1 })
      yield* call("DELETE", "/api/admin/apps/default/kv/a%2F1")
      const runs = yield* eventually(runsOf(call, record).pipe(Effect.map((r) => (r.length > 0 ? r : undefined))))
      yield* Effect.sleep("300 millis")
      assert.strictEqual(
        (yield* runsOf(call, record)).length,
        1,
        "the delete fires nothing, the disabled trigger nothing"
      )
      const seen = (yield* call("GET", "/api/admin/apps/default/kv/seen%2Fa%2F1%401")).json.value
      assert.strictEqual(seen.ctx.invocation, "kv")
      assert.strictEqual(seen.ctx.triggerDepth, 1)
      assert.strictEqual(
        seen.ctx.rootExecutionId,
        runs[0].id,
        "an admin write starts the chain: the run is its own root"
      )
      assert.strictEqual(runs[0].parent_execution_id, null)
      assert.notStrictEqual(seen.event.trigger_id, off.id)
      // The run wrote one key and read none.
      assert.deepInclude(runs[0], { kv_reads: 0, kv_writes: 1, trigger_depth: 1 })
    }))

  it.live("a trigger whose registrant was deleted dead-letters its runs with principal_revoked, without retry", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/users", {
        body: { username: "dev", password: PASSWORD, role: "developer", apps: ["default"] }
      }).pipe(Effect.flatMap(ok(201)))
      const login = yield* call("POST", "/api/admin/login", { body: { username: "dev", password: PASSWORD } }).pipe(
        Effect.flatMap(ok(201))
      )
      yield* deploy(call, "record", RECORD)
      yield* trigger(call, { script: "record", key_pattern: "b", retry: { max_attempts: 5 } }, login.secret)
      assert.strictEqual((yield* call("DELETE", "/api/admin/users/dev")).status, 204)
      yield* put(call, "b", 1)
      const letter = yield* eventually(
        call("GET", "/api/admin/dead-letters").pipe(Effect.map((res) => res.json.items[0]))
      )
      assert.deepInclude(letter, { invocation: "kv", attempts: 1 })
      assert.strictEqual(letter.error.code, "principal_revoked")
      assert.strictEqual(letter.event.key, "b")
      const notRun = (yield* call("GET", "/api/admin/executions?app=default&key=b").pipe(Effect.flatMap(ok(200)))).items
      assert.deepStrictEqual(notRun.map((run: any) => [run.status, run.kv_key]), [["dead_lettered", "b"]])
      assert.strictEqual((yield* call("GET", "/api/admin/apps/default/kv/seen%2Fb%401")).status, 404)
    }))

  it.live("a run's own writes fire the next level, in the writer's tree", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* deploy(call, "record", RECORD)
      yield* deploy(call, "copy", `export default async (req, ctx) => { await kv.set("c/copy", ctx.event.value) }`)
      yield* trigger(call, { script: "copy", key_pattern: "c/orig" })
      yield* trigger(call, { script: "record", key_pattern: "c/copy" })
      yield* deploy(call, "start", `export default async () => { await kv.set("c/orig", 7); return "ok" }`)
      const started = yield* call("POST", "/api/execute/start")
      const root = started.headers.get("x-picloud-execution-id")!
      const seen = yield* eventually(
        call("GET", "/api/admin/apps/default/kv/seen%2Fc%2Fcopy%401").pipe(
          Effect.map((res) => (res.status === 200 ? res.json.value : undefined))
        )
      )
      assert.strictEqual(seen.event.value, 7)
      assert.strictEqual(seen.ctx.triggerDepth, 2)
      assert.strictEqual(seen.ctx.rootExecutionId, root)
      const tree = (yield* call("GET", `/api/admin/executions/${root}/tree`)).json
      assert.strictEqual(tree.root.children.length, 1)
      assert.strictEqual(tree.root.children[0].script_name, "copy")
      assert.strictEqual(tree.root.children[0].children[0].script_name, "record")
    }))
})
