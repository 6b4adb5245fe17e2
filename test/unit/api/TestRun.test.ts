import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { memoryPlatformWith, ok, sessionCookie } from "../../support/client.ts"
import { holdingSlow } from "../../support/holdingSlow.ts"

const PASSWORD = "correct horse battery staple"

type Call = Effect.Success<ReturnType<typeof memoryPlatformWith>>

const ECHO = `export default function (req, ctx) {
  console.log("echo", req.method, req.path)
  console.warn("as", ctx.principal && ctx.principal.username)
  return { statusCode: 201, headers: { "x-out": "yes" }, body: { query: req.query, headers: req.headers, body: req.body } }
}`

const deploy = (call: Call, app: string, name: string, source: string) =>
  call("POST", "/api/admin/scripts", { body: { app, name, source } }).pipe(
    Effect.flatMap(ok(201)),
    Effect.map((script) => script.id as string)
  )

const setup = (call: Call) =>
  Effect.gen(function*() {
    for (const app of ["shop", "blog"]) {
      yield* call("POST", "/api/admin/apps", { body: { name: app } }).pipe(Effect.flatMap(ok(201)))
    }
    const users = [["dev", "developer", ["shop"]], ["other", "developer", ["blog"]], ["inv", "invoker", ["shop"]]]
    for (const [username, role, apps] of users) {
      yield* call("POST", "/api/admin/users", { body: { username, password: PASSWORD, role, apps } }).pipe(
        Effect.flatMap(ok(201))
      )
    }
    return yield* deploy(call, "shop", "echo", ECHO)
  })

const tokenOf = (call: Call, username: string) =>
  call("POST", "/api/admin/login", { token: null, body: { username, password: PASSWORD } }).pipe(
    Effect.flatMap(ok(201)),
    Effect.map((json) => json.secret as string)
  )

describe("admin API: POST /api/admin/scripts/{id}/test-run", () => {
  it.live("runs the saved script with the request given, and answers its response, logs, duration and execution", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith()
      const id = yield* setup(call)
      const run = yield* call("POST", `/api/admin/scripts/${id}/test-run`, {
        headers: { "x-caller-only": "not for the script" },
        body: {
          method: "POST",
          path: "/orders",
          query: { name: "pi" },
          headers: { "X-Typed": "1", authorization: "Basic dTpw", cookie: "theme=dark" },
          body: "hello"
        }
      }).pipe(Effect.flatMap(ok(200)))
      assert.strictEqual(run.status, 201)
      assert.strictEqual(run.headers["x-out"], "yes")
      assert.isNull(run.error)
      // Only the headers typed reach the script: not the caller's own (its token, its other headers).
      assert.deepStrictEqual(JSON.parse(run.body), {
        query: { name: "pi" },
        headers: { "x-typed": "1", authorization: "Basic dTpw", cookie: "theme=dark" },
        body: "hello"
      })
      assert.deepStrictEqual(run.logs.map((l: any) => [l.level, l.message]), [
        ["log", "echo POST /orders"],
        ["warn", "as admin (PICLOUD_ADMIN_TOKEN)"]
      ])
      assert.isFalse(run.logs_truncated)
      assert.isAtLeast(run.duration_ms, 0)

      const record = yield* call("GET", `/api/admin/executions/${run.execution_id}`).pipe(Effect.flatMap(ok(200)))
      assert.strictEqual(record.status, "succeeded")
      assert.strictEqual(record.status_code, 201)
      assert.strictEqual(record.invocation, "http")
      assert.strictEqual(record.script_id, id)
      assert.deepStrictEqual(record.logs, run.logs)
    }))

  it.live("a script that throws: the data plane's status and error body, the error, the logs, a failed record", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith()
      yield* setup(call)
      const id = yield* deploy(
        call,
        "shop",
        "boom",
        `export default () => { console.error("about to fail"); throw new Error("boom") }`
      )
      const run = yield* call("POST", `/api/admin/scripts/${id}/test-run`, { body: {} }).pipe(Effect.flatMap(ok(200)))
      assert.strictEqual(run.status, 502)
      assert.strictEqual(run.error.code, "script_error")
      assert.include(run.error.message, "boom")
      assert.deepStrictEqual(JSON.parse(run.body).error.execution_id, run.execution_id)
      assert.deepStrictEqual(run.logs.map((l: any) => l.message), ["about to fail"])
      const record = yield* call("GET", `/api/admin/executions/${run.execution_id}`).pipe(Effect.flatMap(ok(200)))
      assert.strictEqual(record.status, "failed")
      assert.strictEqual(record.error.code, "script_error")
    }))

  it.live("whoever may execute the script may test-run it; for others, and for unknown ids, it does not exist", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith()
      const id = yield* setup(call)
      const path = `/api/admin/scripts/${id}/test-run`
      const run = yield* call("POST", path, { token: yield* tokenOf(call, "inv"), body: {} }).pipe(
        Effect.flatMap(ok(200))
      )
      assert.strictEqual(run.status, 201)
      yield* call("POST", path, { token: yield* tokenOf(call, "dev"), body: {} }).pipe(Effect.flatMap(ok(200)))
      const other = yield* call("POST", path, { token: yield* tokenOf(call, "other"), body: {} })
      assert.strictEqual(other.status, 404, other.text)
      assert.strictEqual(other.json.error.code, "script_not_found")
      const unknown = yield* call("POST", `/api/admin/scripts/0190a8c4-1f4e-7000-8000-000000000000/test-run`, {
        body: {}
      })
      assert.strictEqual(unknown.status, 404, unknown.text)
      // A name is not an id here (on /api/execute it would find the default app's script).
      yield* deploy(call, "default", "named", "export default () => 1")
      assert.strictEqual((yield* call("POST", "/api/admin/scripts/named/test-run", { body: {} })).status, 404)
      assert.strictEqual((yield* call("POST", path, { token: null, body: {} })).status, 401)
    }))

  it.live("a bad request is a 400 naming what is wrong; a body over PICLOUD_MAX_REQUEST_BYTES a 413", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith({ PICLOUD_MAX_REQUEST_BYTES: "100" })
      const id = yield* setup(call)
      const path = `/api/admin/scripts/${id}/test-run`
      const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`x-h${i}`, "v"]))
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ method: "TRACE" }, "method"],
        [{ path: "no-slash" }, "path"],
        [{ headers: { "bad name": "v" } }, "headers"],
        [{ headers: many }, "headers"],
        [{ query: { q: 1 } }, "query"],
        [{ headers: { Authorization: "Bearer pc_secret" } }, "Authorization"],
        [{ headers: { cookie: "a=1; picloud_session=pc_secret" } }, "cookie"],
        ["not json", ""]
      ]
      for (const [body, names] of cases) {
        const res = yield* call("POST", path, { body })
        assert.strictEqual(res.status, 400, `${JSON.stringify(body)}: ${res.text}`)
        assert.strictEqual(res.json.error.code, "bad_request")
        assert.include(res.json.error.message, names)
        assert.notInclude(res.text, "pc_secret", "the refused credential is not echoed")
      }
      const large = yield* call("POST", path, { body: { method: "POST", body: "x".repeat(101) } })
      assert.strictEqual(large.status, 413, large.text)
      assert.strictEqual(large.json.error.code, "payload_too_large")
      const list = yield* call("GET", "/api/admin/executions").pipe(Effect.flatMap(ok(200)))
      assert.deepStrictEqual(list.items, [], "nothing ran")
    }))

  it.live("a full gate is a 503, as on the data plane", () =>
    Effect.gen(function*() {
      const [started, release] = [yield* Deferred.make<void>(), yield* Deferred.make<void>()]
      const call = yield* memoryPlatformWith({ PICLOUD_MAX_CONCURRENT_EXECUTIONS: "1" }, holdingSlow(started, release))
      const id = yield* setup(call)
      const slow = yield* deploy(call, "shop", "slow", "export default () => 'slow'")
      const busy = yield* call("POST", `/api/admin/scripts/${slow}/test-run`, { body: {} }).pipe(Effect.forkChild)
      yield* Deferred.await(started)
      const refused = yield* call("POST", `/api/admin/scripts/${id}/test-run`, { body: {} })
      assert.strictEqual(refused.status, 503, refused.text)
      assert.strictEqual(refused.json.error.code, "overloaded")
      yield* Deferred.succeed(release, undefined)
      const done = yield* Fiber.join(busy).pipe(Effect.flatMap(ok(200)))
      assert.strictEqual(done.body, "slow")
    }))

  it.live("with the session cookie: a write, so it needs X-PiCloud-CSRF; the cookie never reaches the script", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatformWith()
      const id = yield* setup(call)
      const signedIn = yield* call("POST", "/api/admin/session", {
        token: null,
        body: { username: "dev", password: PASSWORD }
      }).pipe(Effect.tap(ok(201)))
      const { cookie } = sessionCookie(signedIn)!
      const path = `/api/admin/scripts/${id}/test-run`
      const refused = yield* call("POST", path, { cookie, body: {} })
      assert.strictEqual(refused.status, 403, refused.text)
      const run = yield* call("POST", path, { cookie, headers: { "x-picloud-csrf": "1" }, body: {} }).pipe(
        Effect.flatMap(ok(200))
      )
      assert.deepStrictEqual(JSON.parse(run.body).headers, {})
      assert.deepStrictEqual(run.logs.map((l: any) => l.message), ["echo GET /", "as dev"])
    }))
})
