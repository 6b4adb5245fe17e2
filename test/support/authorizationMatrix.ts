import { assert, describe, it } from "@effect/vitest"
import { Effect, SchemaAST, type Scope } from "effect"
import { AdminApi } from "../../src/domain/api/AdminApi.ts"
import type { makeClient, Reply } from "../support/client.ts"

type Client = ReturnType<typeof makeClient>

type Caller = "none" | "bad" | "admin" | "devThis" | "devOther" | "invoker"
const CALLERS: ReadonlyArray<Caller> = ["none", "bad", "admin", "devThis", "devOther", "invoker"]
const PASSWORD = "correct horse battery staple"

/**
 * What each caller gets from each admin endpoint. Keys are `group.endpoint` of the API definition:
 * an endpoint missing here fails the test, so none can be added without deciding who may call it.
 * `public` endpoints answer without a token; the others are 401 for no token and a bad one.
 */
const POLICY: Record<string, "public" | Record<"admin" | "devThis" | "devOther" | "invoker", number>> = {
  "apps.create": { admin: 201, devThis: 403, devOther: 403, invoker: 403 },
  "apps.list": { admin: 200, devThis: 200, devOther: 200, invoker: 200 },
  "apps.get": { admin: 200, devThis: 200, devOther: 404, invoker: 200 },
  "apps.delete": { admin: 204, devThis: 403, devOther: 403, invoker: 403 },
  "secrets.put": { admin: 201, devThis: 201, devOther: 404, invoker: 403 },
  "secrets.list": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "secrets.delete": { admin: 204, devThis: 204, devOther: 404, invoker: 403 },
  "kv.list": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "kv.get": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "kv.put": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "kv.delete": { admin: 204, devThis: 204, devOther: 404, invoker: 403 },
  "scripts.create": { admin: 201, devThis: 201, devOther: 404, invoker: 403 },
  "scripts.list": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "scripts.get": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "scripts.update": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "scripts.delete": { admin: 204, devThis: 204, devOther: 404, invoker: 403 },
  // As executing the script: whoever is granted its app, invokers too.
  "scripts.testRun": { admin: 200, devThis: 200, devOther: 404, invoker: 200 },
  "routes.create": { admin: 201, devThis: 201, devOther: 404, invoker: 403 },
  "routes.list": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "routes.get": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "routes.delete": { admin: 204, devThis: 204, devOther: 404, invoker: 403 },
  "triggers.create": { admin: 201, devThis: 201, devOther: 404, invoker: 403 },
  "triggers.list": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "triggers.get": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "triggers.update": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "triggers.delete": { admin: 204, devThis: 204, devOther: 404, invoker: 403 },
  "schedules.create": { admin: 201, devThis: 201, devOther: 404, invoker: 403 },
  "schedules.list": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "schedules.get": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "schedules.update": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "schedules.delete": { admin: 204, devThis: 204, devOther: 404, invoker: 403 },
  "schedules.run": { admin: 202, devThis: 202, devOther: 404, invoker: 403 },
  "executions.list": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "executions.stream": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "executions.get": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "executions.tree": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "deadLetters.list": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "deadLetters.get": { admin: 200, devThis: 200, devOther: 404, invoker: 403 },
  "deadLetters.replay": { admin: 202, devThis: 202, devOther: 404, invoker: 403 },
  "deadLetters.discard": { admin: 204, devThis: 204, devOther: 404, invoker: 403 },
  // devOther: a 200 whose result says not_found for the dead letter it may not see.
  "deadLetters.replayMany": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "users.create": { admin: 201, devThis: 403, devOther: 403, invoker: 403 },
  "users.list": { admin: 200, devThis: 403, devOther: 403, invoker: 403 },
  "users.get": { admin: 200, devThis: 403, devOther: 403, invoker: 403 },
  "users.grant": { admin: 200, devThis: 403, devOther: 403, invoker: 403 },
  "users.delete": { admin: 204, devThis: 403, devOther: 403, invoker: 403 },
  "tokens.create": { admin: 201, devThis: 201, devOther: 201, invoker: 201 },
  "tokens.list": { admin: 200, devThis: 200, devOther: 200, invoker: 200 },
  "tokens.revoke": { admin: 204, devThis: 404, devOther: 404, invoker: 404 },
  "stats.get": { admin: 200, devThis: 200, devOther: 200, invoker: 403 },
  "session.get": { admin: 200, devThis: 200, devOther: 200, invoker: 200 },
  "session.delete": { admin: 204, devThis: 204, devOther: 204, invoker: 204 },
  "login.login": "public",
  "login.signIn": "public"
}

let fixtures = 0

/**
 * A platform with two apps, a user of each role, a script and an execution in app `this`. Names
 * carry a fixture number, so fixtures can share one database.
 */
const makeFixture = (platform: Effect.Effect<Client, never, Scope.Scope>) =>
  Effect.gen(function*() {
    const call = yield* platform
    const tag = `${Date.now().toString(36)}${fixtures++}`
    const ok = (reply: Reply, status: number) => {
      assert.strictEqual(reply.status, status, reply.text)
      return reply.json
    }
    const login = (username: string) =>
      call("POST", "/api/admin/login", { token: null, body: { username, password: PASSWORD } }).pipe(
        Effect.map((r) => ok(r, 201))
      )
    const [thisApp, otherApp] = [`this-${tag}`, `other-${tag}`]
    ok(yield* call("POST", "/api/admin/apps", { body: { name: thisApp } }), 201)
    ok(yield* call("POST", "/api/admin/apps", { body: { name: otherApp } }), 201)
    const users = [
      ["boss", "admin", []],
      ["dev-this", "developer", [thisApp]],
      ["dev-other", "developer", [otherApp]],
      ["inv", "invoker", [thisApp]],
      ["victim", "invoker", []]
    ] as const
    for (const [username, role, apps] of users) {
      ok(
        yield* call("POST", "/api/admin/users", {
          body: { username: `${username}-${tag}`, password: PASSWORD, role, apps }
        }),
        201
      )
    }
    const boss = yield* login(`boss-${tag}`)
    const tokens: Record<Caller, string | null> = {
      none: null,
      bad: "pc_not-a-real-token",
      admin: boss.secret,
      devThis: (yield* login(`dev-this-${tag}`)).secret,
      devOther: (yield* login(`dev-other-${tag}`)).secret,
      invoker: (yield* login(`inv-${tag}`)).secret
    }
    const script = ok(
      yield* call("POST", "/api/admin/scripts", {
        body: { app: thisApp, name: "s", source: "export default () => 1" }
      }),
      201
    )
    ok(yield* call("POST", `/api/admin/apps/${thisApp}/secrets`, { body: { name: "API_KEY", value: "k" } }), 201)
    ok(yield* call("PUT", `/api/admin/apps/${thisApp}/kv/${encodeURIComponent("orders/1")}`, { body: { n: 1 } }), 200)
    const route = ok(
      yield* call("POST", "/api/admin/routes", { body: { app: thisApp, method: "GET", path: "/hello", script: "s" } }),
      201
    )
    const trigger = ok(
      yield* call("POST", "/api/admin/triggers", { body: { app: thisApp, script: "s", key_pattern: "orders/*" } }),
      201
    )
    const schedule = ok(
      yield* call("POST", "/api/admin/schedules", {
        body: { app: thisApp, name: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin", script: "s" }
      }),
      201
    )
    const run = yield* call("GET", `/api/execute/${thisApp}/s`)
    // A dead letter: an async route whose script always throws, with one attempt.
    ok(
      yield* call("POST", "/api/admin/scripts", {
        body: { app: thisApp, name: "boom", source: "export default () => { throw new Error('boom') }" }
      }),
      201
    )
    ok(
      yield* call("POST", "/api/admin/routes", {
        body: {
          app: thisApp,
          method: "POST",
          path: "/boom",
          script: "boom",
          dispatch_mode: "async",
          retry: { max_attempts: 1 }
        }
      }),
      201
    )
    const accepted = ok(yield* call("POST", `/${thisApp}/boom`, { token: null }), 202)
    assert.strictEqual(
      ok(yield* call("GET", `/api/executions/${accepted.execution_id}?wait=10`, { token: null }), 200).status,
      "dead_lettered"
    )
    const params: Record<string, string> = {
      tag,
      app: thisApp,
      id: script.id,
      user: `victim-${tag}`,
      execution: run.headers.get("x-picloud-execution-id")!,
      token: boss.token.id,
      route: route.id,
      trigger: trigger.id,
      schedule: schedule.id,
      deadLetter: accepted.execution_id
    }
    return { call, tokens, params }
  })

/** Request bodies; `n` keeps what each caller creates distinct, so callers can share a fixture. */
const body = (key: string, n: number, params: Record<string, string>): unknown =>
  ({
    "apps.create": { name: `new-app-${params.tag}-${n}` },
    "scripts.create": { app: params.app, name: `new-script-${n}`, source: "export default () => 2" },
    "scripts.update": { source: `export default () => ${n}` },
    "deadLetters.replayMany": { ids: [params.deadLetter] },
    "scripts.testRun": { method: "POST", path: "/t", query: { a: "1" }, headers: { "x-test": "1" }, body: "hello" },
    "users.create": { username: `new-user-${params.tag}-${n}`, password: PASSWORD, role: "invoker" },
    "users.grant": { apps: [params.app] },
    "tokens.create": { name: `matrix-${n}` },
    "secrets.put": { name: `SECRET_${n}`, value: "s3cr3t" },
    "kv.put": { note: `written by ${n}`, tags: ["a", "b"], nested: { text: "t" } },
    "routes.create": { app: params.app, method: "POST", path: `/r${n}/:id`, script: "s" },
    "triggers.create": { app: params.app, script: "s", key_pattern: `orders/${n}/**` },
    "triggers.update": { key_pattern: `orders/${n}/*`, script: "s" },
    "schedules.create": { app: params.app, name: `schedule-${n}`, cron: "*/5 * * * *", script: "s" },
    "schedules.update": { name: `renamed-${n}`, cron: "0 4 * * *", timezone: "UTC", script: "s" },
    "login.login": { username: `boss-${params.tag}`, password: PASSWORD },
    "login.signIn": { username: `boss-${params.tag}`, password: PASSWORD }
  })[key]

/** Which fixture id an endpoint's `:id` stands for. */
const idParam = (key: string) =>
  key.startsWith("executions")
    ? "execution"
    : key.startsWith("tokens")
    ? "token"
    : key.startsWith("routes")
    ? "route"
    : key.startsWith("triggers")
    ? "trigger"
    : key.startsWith("schedules")
    ? "schedule"
    : key.startsWith("deadLetters")
    ? "deadLetter"
    : "id"

const pathFor = (key: string, path: string, params: Record<string, string>) => {
  const filled = path
    .replace(":app", params.app!)
    .replace(":user", params.user!)
    .replace(":name", "API_KEY")
    .replace(":key", encodeURIComponent("orders/1"))
    .replace(":id", params[idParam(key)]!)
  return key === "apps.delete" ? `${filled}?force=true` : filled
}

/** Registers the matrix for one platform: the same expectations hold on every storage layer. */
export const authorizationMatrix = (name: string, platform: Effect.Effect<Client, never, Scope.Scope>) =>
  describe(`authorization matrix (${name}): every admin endpoint × every kind of caller`, () => {
    const fixture = makeFixture(platform)
    const endpoints = Object.values(AdminApi.groups).flatMap((group) =>
      Object.values(group.endpoints).map((endpoint) => ({
        key: `${group.identifier}.${endpoint.identifier}`,
        endpoint
      }))
    )

    it("every endpoint of the API definition has a policy", () => {
      assert.deepStrictEqual(endpoints.map((e) => e.key).sort(), Object.keys(POLICY).sort())
    })

    for (const { key, endpoint } of endpoints) {
      it.live(`${key} (${endpoint.method} ${endpoint.path})`, () =>
        Effect.gen(function*() {
          const policy = POLICY[key]!
          const expected = (caller: Caller) =>
            caller === "none" || caller === "bad" ? 401 : policy === "public" ? undefined : policy[caller]
          // Refusals change nothing, so they go first on one fixture; every caller allowed to delete
          // after the first gets a fresh fixture, since the first one deleted the thing.
          const callers = [...CALLERS]
            .filter((caller) => !(policy === "public" && expected(caller) === 401))
            .sort((a, b) => Number((expected(a) ?? 200) < 300) - Number((expected(b) ?? 200) < 300))
          let world = yield* fixture
          let deleted = false
          for (const [n, caller] of callers.entries()) {
            const status = expected(caller)
            if (endpoint.method === "DELETE" && status !== undefined && status < 300) {
              if (deleted) world = yield* fixture
              deleted = true
            }
            const res = yield* world.call(endpoint.method, pathFor(key, endpoint.path, world.params), {
              token: world.tokens[caller],
              body: body(key, n, world.params)
            })
            assert.strictEqual(res.status, status ?? res.status, `${caller}: ${res.text}`)
            if (policy === "public") assert.include([200, 201], res.status, res.text)
            if (res.status >= 400) assert.isString(res.json?.error?.code, `${caller}: JSON error body`)
          }
        }), 60_000)
    }
  })

/** Optional fields the matrix leaves out, so the walk below reaches every string of every payload. */
const optionalFields = (key: string, params: Record<string, string>): Record<string, unknown> =>
  ({
    "scripts.update": { name: "renamed" },
    "users.create": { apps: [params.app] },
    "routes.create": { dispatch_mode: "async", auth: "none", dead_letter_script: "s" },
    "triggers.create": { ops: ["set", "delete"], retry: { backoff: "linear" }, dead_letter_script: "s" },
    "triggers.update": { ops: ["delete"], retry: { backoff: "constant" }, dead_letter_script: "s" },
    "schedules.create": {
      timezone: "America/New_York",
      retry: { backoff: "linear" },
      dead_letter_script: "s",
      missed: "all",
      overlap: "skip"
    },
    "schedules.update": { retry: { backoff: "constant" }, dead_letter_script: "s", missed: "once", overlap: "allow" }
  })[key] ?? {}

/** Every body that differs from `valid` in one string (at any depth), replaced by `bad`. */
const withOneString = (valid: unknown, bad: string): ReadonlyArray<{ readonly at: string; readonly body: unknown }> => {
  if (typeof valid === "string") return [{ at: "", body: bad }]
  if (Array.isArray(valid)) {
    return valid.flatMap((item, i) =>
      withOneString(item, bad).map(({ at, body }) => ({
        at: `[${i}]${at}`,
        body: valid.map((v, j) => (j === i ? body : v))
      }))
    )
  }
  if (typeof valid === "object" && valid !== null) {
    return Object.entries(valid).flatMap(([key, value]) =>
      withOneString(value, bad).map(({ at, body }) => ({ at: `.${key}${at}`, body: { ...valid, [key]: body } }))
    )
  }
  return []
}

/**
 * Payload strings bounded in bytes by a setting rather than by a length: a script source, and any
 * string of a KV value (the value is bounded as a whole). Over it is a 413 with this code.
 */
const byteBound = (key: string, at: string) =>
  at.endsWith(".source") || (key === "scripts.testRun" && at === ".body")
    ? { bytes: 1024 * 1024, code: "payload_too_large" }
    : key === "kv.put"
    ? { bytes: 256 * 1024, code: "kv_value_too_large" }
    : undefined

/** What the walk sends for a too-long string: over every length bound, or over its byte bound. */
const tooLong = (key: string, at: string) => {
  const bound = byteBound(key, at)
  return "x".repeat(bound === undefined ? 100_000 : bound.bytes + 1)
}

/**
 * Registers, for one platform, a walk over every admin endpoint that puts bad text in each of its
 * inputs (every path parameter, every query parameter, every string of its payload): text
 * PostgreSQL cannot store (a NUL; an unpaired UTF-16 surrogate) and text over every length bound.
 * Each is refused at the edge: 400 naming the field (413 for a script source over its limit), or
 * 404 for a path that cannot exist. None may reach the database and come back as a 500.
 */
export const inputWalk = (name: string, platform: Effect.Effect<Client, never, Scope.Scope>) =>
  describe(`input walk (${name}): every input of every admin endpoint is checked at the edge`, () => {
    const fixture = makeFixture(platform)
    const endpoints = Object.values(AdminApi.groups).flatMap((group) =>
      Object.values(group.endpoints).map((endpoint) => ({
        key: `${group.identifier}.${endpoint.identifier}`,
        endpoint
      }))
    )

    for (const { key, endpoint } of endpoints) {
      it.live(`${key} (${endpoint.method} ${endpoint.path})`, () =>
        Effect.gen(function*() {
          const world = yield* fixture
          const token = POLICY[key] === "public" ? null : world.tokens.admin
          const hasBody = endpoint.method !== "GET" && endpoint.method !== "DELETE"
          const valid = { ...(body(key, 0, world.params) as object | undefined), ...optionalFields(key, world.params) }
          const probe = (what: string, path: string, body: unknown, allowed: ReadonlyArray<number>) =>
            Effect.gen(function*() {
              const res = yield* world.call(endpoint.method, path, { token, body: hasBody ? body : undefined })
              assert.include(allowed, res.status, `${what}: ${res.status} ${res.text.slice(0, 300)}`)
              assert.isString(res.json?.error?.code, `${what}: JSON error body`)
              return res
            })
          const fill = (path: string) => pathFor(key, path, world.params).split("?")[0]!
          const params = endpoint.path.match(/:\w+/g) ?? []
          const queryAst = endpoint.query?.ast
          const query = queryAst !== undefined && SchemaAST.isObjects(queryAst)
            ? queryAst.propertySignatures.map((p) => String(p.name))
            : []

          for (const param of params) {
            for (const bad of ["a%00b", tooLong("", "")]) {
              yield* probe(`path ${param} = ${bad.slice(0, 10)}`, fill(endpoint.path.replace(param, bad)), valid, [
                400,
                404
              ])
            }
          }
          for (const name of query) {
            for (const bad of ["a%00b", tooLong("", "")]) {
              const res = yield* probe(
                `query ${name} = ${bad.slice(0, 10)}`,
                `${fill(endpoint.path)}?${name}=${bad}`,
                valid,
                [400]
              )
              assert.include(res.json.error.message, name, "the message names the parameter")
            }
          }
          if (!hasBody) return
          for (const bad of ["a\u0000b", "\ud800"]) {
            for (const { at, body } of withOneString(valid, bad)) {
              const res = yield* probe(`payload ${at} = ${JSON.stringify(bad)}`, fill(endpoint.path), body, [400])
              assert.include(res.json.error.message, at.match(/(\w+)(\[\d+\])?$/)![1], "the message names the field")
            }
          }
          for (const { at } of withOneString(valid, "")) {
            const { body } = withOneString(valid, tooLong(key, at)).find((probe) => probe.at === at)!
            const bound = byteBound(key, at)
            if (bound !== undefined) {
              const res = yield* probe(`payload ${at} over its byte limit`, fill(endpoint.path), body, [413])
              assert.strictEqual(res.json.error.code, bound.code)
            } else {
              const res = yield* probe(`payload ${at} too long`, fill(endpoint.path), body, [400])
              assert.include(res.json.error.message, at.match(/(\w+)(\[\d+\])?$/)![1], "the message names the field")
            }
          }
        }), 60_000)
    }
  })
