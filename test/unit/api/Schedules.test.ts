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
/** Records what each run saw, under `seen/<execution id>`. */
const AUDIT = `export default async (req, ctx) => {
  await kv.set("seen/" + ctx.executionId, {
    invocation: ctx.invocation, event: ctx.event, principal: ctx.principal, request: req === undefined ? "absent" : req,
    depth: ctx.triggerDepth, root: ctx.rootExecutionId
  })
}`

const setup = Effect.gen(function*() {
  const call = yield* memoryPlatform
  const ok = (reply: Reply, status: number) => {
    assert.strictEqual(reply.status, status, reply.text)
    return reply.json
  }
  ok(yield* call("POST", "/api/admin/apps", { body: { name: "shop" } }), 201)
  ok(yield* call("POST", "/api/admin/apps", { body: { name: "blog" } }), 201)
  const run = ok(yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "run", source: AUDIT } }), 201)
  const handler = ok(
    yield* call("POST", "/api/admin/scripts", { body: { app: "shop", name: "handler", source: SOURCE } }),
    201
  )
  const foreign = ok(
    yield* call("POST", "/api/admin/scripts", { body: { app: "blog", name: "foreign", source: SOURCE } }),
    201
  )
  const create = (body: Record<string, unknown>, token?: string) =>
    call("POST", "/api/admin/schedules", {
      body: { app: "shop", name: "nightly", cron: "0 3 * * *", script: "run", ...body },
      ...(token ? { token } : {})
    })
  const patch = (id: string, body: Record<string, unknown>, token?: string) =>
    call("PATCH", `/api/admin/schedules/${id}`, { body, ...(token ? { token } : {}) })
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

const refused = (reply: Reply, status: number) => {
  assert.strictEqual(reply.status, status, reply.text)
  return { code: reply.json.error.code as string, message: reply.json.error.message as string }
}

/** Polls until `check` gives something other than `undefined`. */
const eventually = <A>(check: Effect.Effect<A | undefined>, what: string, ms = 10_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    for (;;) {
      const value = yield* check
      if (value !== undefined) return value
      if (Date.now() > deadline) return assert.fail(`timed out waiting for ${what}`)
      yield* Effect.sleep("50 millis")
    }
  })

describe("admin API: /api/admin/schedules", () => {
  it.live("create takes defaults (UTC, skip, allow, enabled, the default retry policy), runs as its creator, and knows its next tick", () =>
    Effect.gen(function*() {
      const { call, ok, run, create } = yield* setup
      const before = Date.now()
      const created = ok(yield* create({ cron: "  0   3 * *  * " }), 201)
      assert.deepInclude(created, {
        name: "nightly",
        cron: "0 3 * * *",
        timezone: "UTC",
        script_id: run.id,
        retry: DEFAULT_RETRY_POLICY,
        dead_letter_script_id: null,
        missed: "skip",
        overlap: "allow",
        enabled: true,
        registrant_user_id: ENV_ADMIN_ID,
        skipped_ticks: 0,
        last_run: null
      })
      assert.strictEqual(created.app_id, run.app_id)
      const next = Date.parse(created.next_run_at)
      assert.isAbove(next, before)
      assert.isAtMost(next, before + 86_400_000)
      assert.match(created.next_run_at, /T03:00:00\.000Z$/)

      const detail = ok(yield* call("GET", `/api/admin/schedules/${created.id}`), 200)
      assert.deepStrictEqual(
        detail.next_runs,
        [0, 1, 2, 3, 4].map((d) => new Date(next + d * 86_400_000).toISOString())
      )
      assert.isNull(detail.last_run)
      assert.deepStrictEqual({ ...detail, next_runs: undefined }, { ...created, next_runs: undefined })

      ok(yield* call("POST", "/api/admin/scripts", { body: { name: "mine", source: SOURCE } }), 201)
      const inDefault = ok(
        yield* call("POST", "/api/admin/schedules", { body: { name: "x", cron: "* * * * *", script: "mine" } }),
        201
      )
      assert.strictEqual(inDefault.app_id, DEFAULT_APP_ID)
    }))

  it.live("every field; the time zone by its canonical name; 6 fields with seconds", () =>
    Effect.gen(function*() {
      const { call, ok, run, handler, create } = yield* setup
      const created = ok(
        yield* create({
          script: run.id,
          cron: "30 0 9 * * MON-FRI",
          timezone: "europe/berlin",
          retry: { backoff: "linear", max_attempts: 2 },
          dead_letter_script: "handler",
          missed: "all",
          overlap: "skip",
          enabled: false
        }),
        201
      )
      assert.deepInclude(created, {
        cron: "30 0 9 * * MON-FRI",
        timezone: "Europe/Berlin",
        retry: { ...DEFAULT_RETRY_POLICY, backoff: "linear", max_attempts: 2 },
        dead_letter_script_id: handler.id,
        missed: "all",
        overlap: "skip",
        enabled: false,
        next_run_at: null
      })
      assert.deepStrictEqual(ok(yield* call("GET", `/api/admin/schedules/${created.id}`), 200).next_runs, [])
      const enabled = ok(yield* call("PATCH", `/api/admin/schedules/${created.id}`, { body: { enabled: true } }), 200)
      assert.match(enabled.next_run_at, /T0[78]:00:30\.000Z$/, "09:00:30 in Berlin")
      const weekday = new Date(enabled.next_run_at).getUTCDay()
      assert.isTrue(weekday >= 1 && weekday <= 5)
    }))

  it.live("an expression or a time zone that is not valid is a 400 naming the field and saying why", () =>
    Effect.gen(function*() {
      const { create, patch, ok } = yield* setup
      const cases: ReadonlyArray<readonly [Record<string, unknown>, ReadonlyArray<string>]> = [
        [{ cron: "* * * *" }, ["cron", "5 fields"]],
        [{ cron: "* * * * * * *" }, ["cron", "number of segments"]],
        [{ cron: "61 * * * *" }, ["cron", "between 0 and 59"]],
        [{ cron: "0 0 31 2 *" }, ["cron", "no date"]],
        [{ cron: "@daily" }, ["cron"]],
        [{ cron: "" }, ["cron"]],
        [{ cron: 5 }, ["cron"]],
        [{ timezone: "Mars/Olympus" }, ["timezone", "IANA"]],
        [{ timezone: "+02:00" }, ["timezone", "IANA"]],
        [{ timezone: "" }, ["timezone"]],
        [{ missed: "later" }, ["missed"]],
        [{ overlap: "queue" }, ["overlap"]],
        [{ name: "has space" }, ["name"]],
        [{ retry: { max_attempts: 0 } }, ["max_attempts"]],
        [{ enabled: "yes" }, ["enabled"]]
      ]
      for (const [body, mentions] of cases) {
        const error = refused(yield* create(body), 400)
        assert.strictEqual(error.code, "bad_request")
        for (const mention of mentions) assert.include(error.message, mention, JSON.stringify(body))
      }
      const schedule = ok(yield* create({}), 201)
      for (const [body, mentions] of cases) {
        const error = refused(yield* patch(schedule.id, body), 400)
        for (const mention of mentions) assert.include(error.message, mention, `PATCH ${JSON.stringify(body)}`)
      }
    }))

  it.live("names are unique in an app (409); an unknown app, or a script that is not the app's, is a 404", () =>
    Effect.gen(function*() {
      const { call, ok, foreign, create, patch } = yield* setup
      const first = ok(yield* create({}), 201)
      assert.strictEqual(refused(yield* create({}), 409).code, "schedule_name_taken")
      const second = ok(yield* create({ name: "weekly" }), 201)
      assert.strictEqual(refused(yield* patch(second.id, { name: "nightly" }), 409).code, "schedule_name_taken")
      ok(yield* call("POST", "/api/admin/scripts", { body: { app: "blog", name: "post", source: SOURCE } }), 201)
      ok(yield* create({ app: "blog", script: "post" }), 201)
      assert.strictEqual(refused(yield* create({ app: "nope", name: "n" }), 404).code, "app_not_found")
      for (const body of [{ script: "nope" }, { script: foreign.id }, { dead_letter_script: "foreign" }]) {
        assert.strictEqual(refused(yield* create({ name: "n", ...body }), 404).code, "script_not_found")
        assert.strictEqual(refused(yield* patch(first.id, body), 404).code, "script_not_found")
      }
    }))

  it.live("PATCH: a new cron or zone recomputes the next tick; disabling clears it; the patcher becomes the registrant", () =>
    Effect.gen(function*() {
      const { call, ok, create, patch, user } = yield* setup
      const dev = yield* user("dev", "developer", ["shop"])
      const created = ok(yield* create({ cron: "0 3 * * *" }), 201)
      const moved = ok(yield* patch(created.id, { cron: "0 4 * * *", timezone: "Asia/Kolkata" }, dev.token), 200)
      assert.match(moved.next_run_at, /T22:30:00\.000Z$/, "04:00 in Kolkata")
      assert.strictEqual(moved.registrant_user_id, dev.id)
      const off = ok(yield* patch(created.id, { enabled: false }), 200)
      assert.deepStrictEqual([off.enabled, off.next_run_at, off.registrant_user_id], [false, null, ENV_ADMIN_ID])
      const renamed = ok(yield* patch(created.id, { name: "daily", missed: "once" }), 200)
      assert.deepStrictEqual([renamed.name, renamed.missed, renamed.next_run_at], ["daily", "once", null])
      const on = ok(yield* patch(created.id, { enabled: true }), 200)
      assert.strictEqual(on.next_run_at, moved.next_run_at)
      assert.strictEqual(ok(yield* call("GET", `/api/admin/schedules/${created.id}`), 200).next_runs.length, 5)
    }))

  it.live("who may: admins and the app's developers; another app's developer gets 404, an invoker 403", () =>
    Effect.gen(function*() {
      const { call, ok, create, patch, user } = yield* setup
      const mine = yield* user("mine", "developer", ["shop"])
      const other = yield* user("other", "developer", ["blog"])
      const invoker = yield* user("inv", "invoker", ["shop"])
      const created = ok(yield* create({}, mine.token), 201)
      assert.strictEqual(created.registrant_user_id, mine.id)
      assert.strictEqual(refused(yield* create({ name: "x" }, other.token), 404).code, "app_not_found")
      assert.strictEqual(refused(yield* patch(created.id, {}, other.token), 404).code, "schedule_not_found")
      assert.strictEqual(refused(yield* create({ name: "x" }, invoker.token), 403).code, "forbidden")
      const listed = ok(yield* call("GET", "/api/admin/schedules", { token: other.token }), 200)
      assert.deepStrictEqual(listed.items, [])
      const run = yield* call("POST", `/api/admin/schedules/${created.id}/run`, { token: other.token })
      assert.strictEqual(refused(run, 404).code, "schedule_not_found")
    }))

  it.live("run now: one run at once, as the registrant, with the tick as ctx.event; GET shows it as the last run", () =>
    Effect.gen(function*() {
      const { call, ok, create, user } = yield* setup
      const dev = yield* user("dev", "developer", ["shop"])
      const created = ok(yield* create({}, dev.token), 201)
      const accepted = ok(yield* call("POST", `/api/admin/schedules/${created.id}/run`), 202)
      const seen = yield* eventually(
        call("GET", `/api/admin/apps/shop/kv/${encodeURIComponent(`seen/${accepted.execution_id}`)}`).pipe(
          Effect.map((r) => (r.status === 200 ? r.json.value : undefined))
        ),
        "the run"
      )
      assert.deepStrictEqual(seen, {
        invocation: "schedule",
        event: {
          schedule_id: created.id,
          name: "nightly",
          scheduled_at: accepted.accepted_at,
          fired_at: accepted.accepted_at
        },
        principal: { user_id: dev.id, username: "dev", role: "developer" },
        request: "absent",
        depth: 0,
        root: accepted.execution_id
      })
      const detail = yield* eventually(
        call("GET", `/api/admin/schedules/${created.id}`).pipe(
          Effect.map((r) => (r.json.last_run?.status === "succeeded" ? r.json : undefined))
        ),
        "the last run's status"
      )
      assert.deepStrictEqual(detail.last_run, {
        execution_id: accepted.execution_id,
        scheduled_at: accepted.accepted_at,
        fired_at: accepted.accepted_at,
        status: "succeeded",
        lag_ms: 0
      })
      assert.strictEqual(detail.next_run_at, created.next_run_at, "its ticks are unchanged")
      const record = ok(yield* call("GET", `/api/admin/executions/${accepted.execution_id}`), 200)
      assert.deepStrictEqual([record.invocation, record.status], ["schedule", "succeeded"])
      assert.strictEqual(
        refused(yield* call("POST", `/api/admin/schedules/${UNKNOWN_ID}/run`), 404).code,
        "schedule_not_found"
      )
    }))

  it.live("an every-second schedule runs on its own, about once a second", () =>
    Effect.gen(function*() {
      const { call, ok, create, run } = yield* setup
      ok(yield* create({ cron: "* * * * * *" }), 201)
      yield* Effect.sleep("2500 millis")
      const page = ok(yield* call("GET", `/api/admin/executions?script=${run.id}&invocation=schedule`), 200)
      assert.include(
        [2, 3],
        page.items.length,
        JSON.stringify(page.items.map((e: { started_at: string }) => e.started_at))
      )
    }))

  it.live("get, list (all, or by app) and delete; deleting its script or app deletes it; unknown ids are 404s", () =>
    Effect.gen(function*() {
      const { call, ok, create, run } = yield* setup
      ok(yield* call("POST", "/api/admin/scripts", { body: { app: "blog", name: "post", source: SOURCE } }), 201)
      const one = ok(yield* create({}), 201)
      const two = ok(yield* create({ name: "two" }), 201)
      const other = ok(yield* create({ app: "blog", script: "post", name: "three" }), 201)
      const list = (query: string) =>
        call("GET", `/api/admin/schedules${query}`).pipe(
          Effect.map((r) => ok(r, 200).items.map((s: { id: string }) => s.id))
        )
      assert.deepStrictEqual(yield* list("?app=shop"), [one.id, two.id])
      assert.deepStrictEqual(yield* list(""), [one.id, two.id, other.id])
      assert.strictEqual((yield* call("DELETE", `/api/admin/schedules/${one.id}`)).status, 204)
      for (const id of [one.id, UNKNOWN_ID, "not-a-uuid"]) {
        assert.strictEqual(refused(yield* call("GET", `/api/admin/schedules/${id}`), 404).code, "schedule_not_found")
        assert.strictEqual(refused(yield* call("DELETE", `/api/admin/schedules/${id}`), 404).code, "schedule_not_found")
      }
      assert.strictEqual((yield* call("DELETE", `/api/admin/scripts/${run.id}`)).status, 204)
      assert.deepStrictEqual(yield* list("?app=shop"), [])
      assert.strictEqual((yield* call("DELETE", "/api/admin/apps/blog?force=true")).status, 204)
      assert.deepStrictEqual(yield* list(""), [])
    }))
})
