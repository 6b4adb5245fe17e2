import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { DEFAULT_APP_ID } from "../../../src/domain/App.ts"
import { DEFAULT_RETRY_POLICY } from "../../../src/domain/RetryPolicy.ts"
import { memoryPlatform, type Reply } from "../../support/client.ts"

const PASSWORD = "correct horse battery staple"
/** `PICLOUD_ADMIN_TOKEN`'s principal: an admin that exists only in configuration. */
const ENV_ADMIN_ID = "00000000-0000-4000-8000-00000000a000"
const UNKNOWN_ID = "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"
const SOURCE = "export default () => 1"

const setup = Effect.gen(function*() {
  const call = yield* memoryPlatform
  const ok = (reply: Reply, status: number) => {
    assert.strictEqual(reply.status, status, reply.text)
    return reply.json
  }
  ok(yield* call("POST", "/api/admin/apps", { body: { name: "shop" } }), 201)
  ok(yield* call("POST", "/api/admin/apps", { body: { name: "blog" } }), 201)
  const run = ok(yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "run", source: SOURCE } }), 201)
  const handler = ok(
    yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "handler", source: SOURCE } }),
    201
  )
  const foreign = ok(
    yield* call("POST", "/api/admin/scripts", { body: { app: "blog", name: "foreign", source: SOURCE } }),
    201
  )
  const create = (body: Record<string, unknown>, token?: string) =>
    call("POST", "/api/admin/triggers", { body: { app: "shop", script: "run", ...body }, ...(token ? { token } : {}) })
  const patch = (id: string, body: Record<string, unknown>, token?: string) =>
    call("PATCH", `/api/admin/triggers/${id}`, { body, ...(token ? { token } : {}) })
  /** A user of `role` granted `apps`, and a token of theirs. */
  const user = (username: string, role: string, apps: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const created = ok(
        yield* call("POST", "/api/admin/users", { body: { username, password: PASSWORD, role, apps } }),
        201
      )
      const login = ok(
        yield* call("POST", "/api/admin/login", { token: null, body: { username, password: PASSWORD } }),
        201
      )
      return { id: created.id as string, token: login.secret as string }
    })
  return { call, ok, run, handler, foreign, create, patch, user }
})

/** The error code and message of a refusal with `status`. */
const refused = (reply: Reply, status: number) => {
  assert.strictEqual(reply.status, status, reply.text)
  return { code: reply.json.error.code as string, message: reply.json.error.message as string }
}

describe("admin API: /api/admin/triggers", () => {
  it.live("create takes defaults (both ops, the default retry policy, enabled, no handler) and runs as its creator", () =>
    Effect.gen(function*() {
      const { call, ok, run, create } = yield* setup
      const created = ok(yield* create({ key_pattern: "orders/*" }), 201)
      assert.deepStrictEqual(
        { ...created, id: undefined, app_id: undefined, created_at: undefined, updated_at: undefined },
        {
          id: undefined,
          app_id: undefined,
          created_at: undefined,
          updated_at: undefined,
          script_id: run.id,
          key_pattern: "orders/*",
          ops: ["set", "delete"],
          retry: DEFAULT_RETRY_POLICY,
          dead_letter_script_id: null,
          enabled: true,
          registrant_user_id: ENV_ADMIN_ID
        }
      )
      assert.strictEqual(created.app_id, run.app_id)
      assert.strictEqual(created.created_at, created.updated_at)
      assert.deepStrictEqual(ok(yield* call("GET", `/api/admin/triggers/${created.id}`), 200), created)

      // Without `app`, the default app; its script by name there.
      ok(yield* call("POST", "/api/admin/scripts", { body: { name: "mine", source: SOURCE } }), 201)
      const inDefault = ok(
        yield* call("POST", "/api/admin/triggers", { body: { script: "mine", key_pattern: "x" } }),
        201
      )
      assert.strictEqual(inDefault.app_id, DEFAULT_APP_ID)
    }))

  it.live("create with every field: ops in one order, retry completed by its defaults, scripts by name or id", () =>
    Effect.gen(function*() {
      const { ok, run, handler, create } = yield* setup
      const created = ok(
        yield* create({
          script: run.id,
          key_pattern: "users/*/profile",
          ops: ["delete", "set"],
          retry: { backoff: "linear", max_attempts: 2 },
          dead_letter_script: "handler",
          enabled: false
        }),
        201
      )
      assert.deepInclude(created, {
        script_id: run.id,
        key_pattern: "users/*/profile",
        ops: ["set", "delete"],
        retry: { ...DEFAULT_RETRY_POLICY, backoff: "linear", max_attempts: 2 },
        dead_letter_script_id: handler.id,
        enabled: false
      })
      const deletes = ok(yield* create({ key_pattern: "a", ops: ["delete"], dead_letter_script: handler.id }), 201)
      assert.deepStrictEqual(deletes.ops, ["delete"])
      assert.strictEqual(deletes.dead_letter_script_id, handler.id)
      assert.isNull(ok(yield* create({ key_pattern: "b", dead_letter_script: null }), 201).dead_letter_script_id)
    }))

  it.live("a pattern, ops or retry policy that is not valid is a 400 naming the field and saying why", () =>
    Effect.gen(function*() {
      const { create, patch, ok } = yield* setup
      const cases: ReadonlyArray<readonly [Record<string, unknown>, ReadonlyArray<string>]> = [
        [{ key_pattern: "" }, ["key_pattern", "empty"]],
        [{ key_pattern: "a/b**" }, ["key_pattern", "'**' must be a whole segment"]],
        [{ key_pattern: "***" }, ["key_pattern", "'**' must be a whole segment"]],
        [{ key_pattern: "é".repeat(257) }, ["key_pattern", "512 UTF-8 bytes"]],
        [{ key_pattern: "x".repeat(513) }, ["key_pattern"]],
        [{ key_pattern: "a\u0000" }, ["key_pattern", "NUL"]],
        [{ key_pattern: 42 }, ["key_pattern"]],
        [{ key_pattern: "a", ops: [] }, ["ops", "at least one"]],
        [{ key_pattern: "a", ops: ["set", "set"] }, ["ops", "repeat"]],
        [{ key_pattern: "a", ops: ["put"] }, ["ops"]],
        [{ key_pattern: "a", ops: "set" }, ["ops"]],
        [{ key_pattern: "a", retry: { max_attempts: 0 } }, ["max_attempts"]],
        [{ key_pattern: "a", retry: { backoff: "random" } }, ["backoff"]],
        [{ key_pattern: "a", enabled: "yes" }, ["enabled"]],
        [{}, ["key_pattern"]],
        [{ key_pattern: "a", script: undefined }, ["script"]]
      ]
      for (const [body, mentions] of cases) {
        const error = refused(yield* create(body), 400)
        assert.strictEqual(error.code, "bad_request")
        for (const mention of mentions) assert.include(error.message, mention, JSON.stringify(body).slice(0, 60))
      }
      const trigger = ok(yield* create({ key_pattern: "a" }), 201)
      for (const [body, mentions] of cases.slice(0, 14)) {
        const error = refused(yield* patch(trigger.id, body), 400)
        for (const mention of mentions) {
          assert.include(error.message, mention, `PATCH ${JSON.stringify(body).slice(0, 60)}`)
        }
      }
      for (const pattern of ["orders/**", "**/x", "a//b", "/", "2024-*", "日本/*"]) {
        assert.strictEqual((yield* create({ key_pattern: pattern })).status, 201, pattern)
      }
    }))

  it.live("an unknown app, or a script (or handler) that is not the app's, is a 404; nothing is created", () =>
    Effect.gen(function*() {
      const { call, foreign, create } = yield* setup
      assert.strictEqual(refused(yield* create({ app: "nope", key_pattern: "a" }), 404).code, "app_not_found")
      assert.strictEqual(refused(yield* create({ app: UNKNOWN_ID, key_pattern: "a" }), 404).code, "app_not_found")
      for (
        const body of [
          { script: "nope" },
          { script: UNKNOWN_ID },
          { script: "foreign" },
          { script: foreign.id },
          { dead_letter_script: "nope" },
          { dead_letter_script: "foreign" },
          { dead_letter_script: foreign.id }
        ]
      ) {
        const error = refused(yield* create({ key_pattern: "a", ...body }), 404)
        assert.strictEqual(error.code, "script_not_found", JSON.stringify(body))
      }
      assert.deepStrictEqual((yield* call("GET", "/api/admin/triggers")).json.items, [])
    }))

  it.live("get, list (all, or by app) and delete; unknown ids and apps are 404s", () =>
    Effect.gen(function*() {
      const { call, ok, create } = yield* setup
      ok(yield* call("POST", "/api/admin/scripts", { body: { app: "blog", name: "post", source: SOURCE } }), 201)
      const one = ok(yield* create({ key_pattern: "a" }), 201)
      const two = ok(yield* create({ key_pattern: "b" }), 201)
      const other = ok(yield* create({ app: "blog", script: "post", key_pattern: "c" }), 201)
      const list = (query: string) =>
        call("GET", `/api/admin/triggers${query}`).pipe(
          Effect.map((r) => ok(r, 200).items.map((t: { id: string }) => t.id))
        )
      assert.deepStrictEqual(yield* list("?app=shop"), [one.id, two.id])
      assert.deepStrictEqual(yield* list(`?app=${other.app_id}`), [other.id])
      assert.deepStrictEqual(yield* list(""), [one.id, two.id, other.id])
      assert.strictEqual(refused(yield* call("GET", "/api/admin/triggers?app=nope"), 404).code, "app_not_found")

      assert.strictEqual((yield* call("DELETE", `/api/admin/triggers/${one.id}`)).status, 204)
      assert.deepStrictEqual(yield* list("?app=shop"), [two.id])
      for (const id of [one.id, UNKNOWN_ID, "not-a-uuid"]) {
        for (
          const [method, body] of [["GET", undefined], ["PATCH", { enabled: false }], ["DELETE", undefined]] as const
        ) {
          const error = refused(yield* call(method, `/api/admin/triggers/${id}`, { body }), 404)
          assert.strictEqual(error.code, "trigger_not_found", `${method} ${id}`)
        }
      }
    }))

  it.live("PATCH changes the fields given (retry as a whole, null removes the handler) and nothing else", () =>
    Effect.gen(function*() {
      const { ok, run, handler, foreign, create, patch } = yield* setup
      const created = ok(
        yield* create({ key_pattern: "a/*", retry: { max_attempts: 9 }, dead_letter_script: "handler" }),
        201
      )
      const steps: ReadonlyArray<readonly [Record<string, unknown>, Record<string, unknown>]> = [
        [{ key_pattern: "b/**" }, { key_pattern: "b/**" }],
        [{ ops: ["delete"] }, { ops: ["delete"] }],
        [{ retry: { backoff: "constant" } }, { retry: { ...DEFAULT_RETRY_POLICY, backoff: "constant" } }],
        [{ enabled: false }, { enabled: false }],
        [{ dead_letter_script: null }, { dead_letter_script_id: null }],
        [{ dead_letter_script: "run" }, { dead_letter_script_id: run.id }],
        [{ script: "handler" }, { script_id: handler.id }],
        [{ script: run.id, enabled: true, ops: ["set", "delete"] }, {
          script_id: run.id,
          enabled: true,
          ops: ["set", "delete"]
        }],
        [{}, {}]
      ]
      let current = created
      for (const [body, changed] of steps) {
        const updated = ok(yield* patch(created.id, body), 200)
        assert.deepStrictEqual({ ...updated, updated_at: undefined }, { ...current, ...changed, updated_at: undefined })
        assert.isTrue(updated.updated_at >= current.updated_at)
        current = updated
      }
      assert.strictEqual(current.created_at, created.created_at)
      for (const body of [{ script: "foreign" }, { script: foreign.id }, { dead_letter_script: "nope" }]) {
        assert.strictEqual(refused(yield* patch(created.id, body), 404).code, "script_not_found")
      }
      const stays = ok(yield* patch(created.id, { app: "blog" }), 200)
      assert.strictEqual(stays.app_id, created.app_id, "a trigger's app cannot change")
    }))

  it.live("developers of the app manage its triggers; whoever writes a trigger last is the one it runs as", () =>
    Effect.gen(function*() {
      const { call, ok, create, patch, user } = yield* setup
      const dev = yield* user("dev", "developer", ["shop"])
      const colleague = yield* user("colleague", "developer", ["shop"])
      const outsider = yield* user("outsider", "developer", ["blog"])
      const invoker = yield* user("invoker", "invoker", ["shop"])

      const created = ok(yield* create({ key_pattern: "a" }, dev.token), 201)
      assert.strictEqual(created.registrant_user_id, dev.id)
      assert.strictEqual(ok(yield* patch(created.id, {}), 200).registrant_user_id, ENV_ADMIN_ID)
      const edited = ok(yield* patch(created.id, { enabled: false }, colleague.token), 200)
      assert.strictEqual(edited.registrant_user_id, colleague.id, "the editor now answers for what it runs")

      assert.strictEqual(refused(yield* create({ key_pattern: "a" }, outsider.token), 404).code, "app_not_found")
      assert.strictEqual(refused(yield* create({ key_pattern: "a" }, invoker.token), 403).code, "forbidden")
      for (const [method, body] of [["GET", undefined], ["PATCH", { enabled: true }], ["DELETE", undefined]] as const) {
        const path = `/api/admin/triggers/${created.id}`
        assert.strictEqual(
          refused(yield* call(method, path, { body, token: outsider.token }), 404).code,
          "trigger_not_found"
        )
        assert.strictEqual(refused(yield* call(method, path, { body, token: invoker.token }), 403).code, "forbidden")
      }
      assert.deepStrictEqual((yield* call("GET", "/api/admin/triggers", { token: outsider.token })).json.items, [])
      assert.strictEqual((yield* call("GET", "/api/admin/triggers?app=shop", { token: outsider.token })).status, 404)
      assert.strictEqual((yield* call("GET", "/api/admin/triggers", { token: dev.token })).json.items.length, 1)

      // A trigger outlives its registrant: the run-time check refuses its executions instead.
      assert.strictEqual((yield* call("DELETE", "/api/admin/users/colleague")).status, 204)
      assert.strictEqual(
        ok(yield* call("GET", `/api/admin/triggers/${created.id}`), 200).registrant_user_id,
        colleague.id
      )
    }))

  it.live("deleting a script takes the triggers that run it, and leaves those it handled without a handler; deleting the app takes them all", () =>
    Effect.gen(function*() {
      const { call, ok, run, handler, create } = yield* setup
      const runs = ok(yield* create({ key_pattern: "a", dead_letter_script: "handler" }), 201)
      const handled = ok(yield* create({ script: "handler", key_pattern: "b", dead_letter_script: "run" }), 201)
      assert.strictEqual((yield* call("DELETE", `/api/admin/scripts/${run.id}`)).status, 204)
      assert.strictEqual((yield* call("GET", `/api/admin/triggers/${runs.id}`)).status, 404)
      const kept = ok(yield* call("GET", `/api/admin/triggers/${handled.id}`), 200)
      assert.deepInclude(kept, { script_id: handler.id, dead_letter_script_id: null })

      assert.strictEqual((yield* call("DELETE", "/api/admin/apps/shop?force=true")).status, 204)
      assert.deepStrictEqual((yield* call("GET", "/api/admin/triggers")).json.items, [])
    }))

  it.live("the OpenAPI document shows the endpoints", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const paths = (yield* call("GET", "/api/admin/openapi.json")).json.paths
      assert.includeMembers(Object.keys(paths["/api/admin/triggers"]), ["get", "post"])
      assert.includeMembers(Object.keys(paths["/api/admin/triggers/{id}"]), ["get", "patch", "delete"])
    }))
})
