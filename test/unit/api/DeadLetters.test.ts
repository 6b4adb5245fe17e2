import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform, ok } from "../../support/client.ts"

type Call = Effect.Success<typeof memoryPlatform>

const PASSWORD = "correct horse battery staple"

/**
 * Two apps, each with an async route whose script always throws (one attempt): `boom` with a
 * handler that succeeds, `bare` without one. Answers a function that makes a dead letter.
 */
const setup = (call: Call) =>
  Effect.gen(function*() {
    for (const app of ["shop", "blog"]) {
      yield* call("POST", "/api/admin/apps", { body: { name: app } }).pipe(Effect.flatMap(ok(201)))
      for (
        const [name, source] of [["boom", "export default () => { throw new Error('boom') }"], [
          "handler",
          "export default () => 'handled'"
        ]]
      ) {
        yield* call("POST", "/api/admin/scripts", { body: { app, name, source } }).pipe(Effect.flatMap(ok(201)))
      }
      for (const [path, handler] of [["/boom", "handler"], ["/bare", undefined]] as const) {
        yield* call("POST", "/api/admin/routes", {
          body: {
            app,
            method: "POST",
            path,
            script: "boom",
            dispatch_mode: "async",
            auth: "none",
            retry: { max_attempts: 1 },
            ...(handler === undefined ? {} : { dead_letter_script: handler })
          }
        }).pipe(Effect.flatMap(ok(201)))
      }
    }
    /** Sends one request to the route, and waits until it is dead-lettered (and its handler ran). */
    return (app: string, path: string) =>
      Effect.gen(function*() {
        const { execution_id } = yield* call("POST", `/${app}${path}`, { token: null }).pipe(Effect.flatMap(ok(202)))
        const ended = yield* call("GET", `/api/executions/${execution_id}?wait=10`, { token: null })
        assert.strictEqual(ended.json.status, "dead_lettered", ended.text)
        for (let i = 0; i < 100; i++) {
          const letter = yield* call("GET", `/api/admin/dead-letters/${execution_id}`).pipe(Effect.flatMap(ok(200)))
          if (letter.resolution !== "pending") break
          yield* Effect.sleep("20 millis")
        }
        return execution_id as string
      })
  })

const ids = (page: { items: ReadonlyArray<{ id: string }> }) => page.items.map((item) => item.id)

describe("admin API: dead letters", () => {
  it.live("the listing filters by app, script and handler state, and pages with a cursor", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const deadLetter = yield* setup(call)
      const handled = [yield* deadLetter("shop", "/boom"), yield* deadLetter("shop", "/boom")]
      const bare = [yield* deadLetter("shop", "/bare"), yield* deadLetter("shop", "/bare")]
      const blog = yield* deadLetter("blog", "/bare")
      const list = (query: string) => call("GET", `/api/admin/dead-letters?${query}`).pipe(Effect.flatMap(ok(200)))

      const all = yield* list("")
      assert.deepStrictEqual(ids(all), [blog, bare[1], bare[0], handled[1], handled[0]], "newest first")
      assert.isNull(all.next_cursor)
      assert.deepStrictEqual(ids(yield* list("app=blog")), [blog])
      assert.deepStrictEqual(ids(yield* list("app=shop&resolution=handled")), [handled[1], handled[0]])
      assert.deepStrictEqual(ids(yield* list("resolution=none&app=shop")), [bare[1], bare[0]])
      assert.deepStrictEqual(ids(yield* list("resolution=handler_failed")), [])
      const blogBoom = (yield* list("app=blog")).items[0].script_id
      assert.deepStrictEqual(ids(yield* list(`script=${blogBoom}`)), [blog])

      const first = yield* list("limit=2")
      assert.deepStrictEqual(ids(first), [blog, bare[1]])
      const second = yield* list(`limit=2&cursor=${first.next_cursor}`)
      assert.deepStrictEqual(ids(second), [bare[0], handled[1]])
      const third = yield* list(`limit=2&cursor=${second.next_cursor}`)
      assert.deepStrictEqual(ids(third), [handled[0]])
      assert.isNull(third.next_cursor)

      for (const [query, names] of [["resolution=lost", "resolution"], ["script=abc", "script"], ["cursor=xyz", ""]]) {
        const bad = yield* call("GET", `/api/admin/dead-letters?${query}`)
        assert.strictEqual(bad.status, 400, `${query}: ${bad.text}`)
        assert.include(bad.json.error.message, names)
      }
    }))

  it.live("bulk replay: each id's outcome; unknown ones and others' are not_found; a repeated id counts once", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const deadLetter = yield* setup(call)
      const [a, b] = [yield* deadLetter("shop", "/bare"), yield* deadLetter("shop", "/bare")]
      const theirs = yield* deadLetter("blog", "/bare")
      const unknown = "0190a8c4-1f4e-7000-8000-000000000000"
      yield* call("POST", "/api/admin/users", {
        body: { username: "dev", password: PASSWORD, role: "developer", apps: ["shop"] }
      }).pipe(Effect.flatMap(ok(201)))
      const dev =
        (yield* call("POST", "/api/admin/login", { token: null, body: { username: "dev", password: PASSWORD } })
          .pipe(Effect.flatMap(ok(201)))).secret

      const { results } = yield* call("POST", "/api/admin/dead-letters/replay", {
        token: dev,
        body: { ids: [a, unknown, theirs, b, a] }
      }).pipe(Effect.flatMap(ok(200)))
      assert.deepStrictEqual(results.map((r: any) => [r.id, r.outcome]), [
        [a, "accepted"],
        [unknown, "not_found"],
        [theirs, "not_found"],
        [b, "accepted"]
      ])
      for (const result of results.filter((r: any) => r.outcome === "accepted")) {
        const letter = yield* call("GET", `/api/admin/dead-letters/${result.id}`).pipe(Effect.flatMap(ok(200)))
        assert.strictEqual(letter.replayed_as, result.execution_id)
        const again = yield* call("GET", `/api/executions/${result.execution_id}?wait=10`, { token: null })
        assert.strictEqual(again.json.status, "dead_lettered", "the replay ran (and failed the same way)")
      }
      const untouched = yield* call("GET", `/api/admin/dead-letters/${theirs}`).pipe(Effect.flatMap(ok(200)))
      assert.isNull(untouched.replayed_as, "another app's dead letter is not replayed")
    }))

  it.live("bulk replay refuses an empty list, more than 100 ids and anything not an id (400); invokers (403)", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      const id = () => crypto.randomUUID()
      for (
        const [ids, names] of [
          [[], "at least one"],
          [Array.from({ length: 101 }, id), "at most 100"],
          [["not-an-id"], "UUID"]
        ] as const
      ) {
        const res = yield* call("POST", "/api/admin/dead-letters/replay", { body: { ids } })
        assert.strictEqual(res.status, 400, res.text)
        assert.include(res.json.error.message, names)
      }
      const hundred = yield* call("POST", "/api/admin/dead-letters/replay", {
        body: { ids: Array.from({ length: 100 }, id) }
      }).pipe(Effect.flatMap(ok(200)))
      assert.strictEqual(hundred.results.length, 100)
      assert.isTrue(hundred.results.every((r: any) => r.outcome === "not_found"))
      yield* call("POST", "/api/admin/users", { body: { username: "inv", password: PASSWORD, role: "invoker" } })
        .pipe(Effect.flatMap(ok(201)))
      const inv =
        (yield* call("POST", "/api/admin/login", { token: null, body: { username: "inv", password: PASSWORD } })
          .pipe(Effect.flatMap(ok(201)))).secret
      yield* call("POST", "/api/admin/dead-letters/replay", { token: inv, body: { ids: [id()] } }).pipe(
        Effect.flatMap(ok(403))
      )
    }))
})
