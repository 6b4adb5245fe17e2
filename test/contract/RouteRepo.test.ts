import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DEFAULT_APP_ID } from "../../src/domain/App.ts"
import { DEFAULT_RETRY_POLICY } from "../../src/domain/RetryPolicy.ts"
import { RouteRepo } from "../../src/domain/RouteRepo.ts"
import { ScriptRepo } from "../../src/domain/ScriptRepo.ts"
import * as RouteRepoMemory from "../../src/manager/RouteRepoMemory.ts"
import * as RouteRepoSql from "../../src/manager/RouteRepoSql.ts"
import * as ScriptRepoMemory from "../../src/manager/ScriptRepoMemory.ts"
import * as ScriptRepoSql from "../../src/manager/ScriptRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`

const contract = (name: string, repoLayer: Layer.Layer<RouteRepo | ScriptRepo, unknown>) =>
  layer(repoLayer, { timeout: "60 seconds" })(`RouteRepo (${name})`, (it) => {
    it.effect("create, get, list by app, conflicts by shape, delete, delete with the script", () =>
      Effect.gen(function*() {
        const routes = yield* RouteRepo
        const scripts = yield* ScriptRepo
        const script = yield* scripts.create({ app_id: DEFAULT_APP_ID, name: unique("target"), source: "x" })
        const path = `/${unique("p")}/:id`
        const base = {
          app_id: DEFAULT_APP_ID,
          method: "GET" as const,
          script_id: script.id,
          dispatch_mode: "sync" as const,
          auth: "none" as const,
          retry: DEFAULT_RETRY_POLICY,
          dead_letter_script_id: null
        }
        const shape = path.replace(":id", ":")
        const route = yield* routes.create({ ...base, path, shape })
        assert.strictEqual(route.path, path)
        assert.deepStrictEqual(yield* routes.get(route.id), route)
        assert.include((yield* routes.list(DEFAULT_APP_ID)).map((r) => r.id), route.id)
        assert.deepStrictEqual(yield* routes.list("6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"), [])
        const conflict = yield* routes.create({ ...base, path: path.replace(":id", ":other"), shape }).pipe(Effect.flip)
        assert.strictEqual(conflict._tag, "RouteConflict")
        const retry = {
          backoff: "linear" as const,
          initial_delay_ms: 50,
          max_delay_ms: 400,
          max_attempts: 3,
          jitter: false
        }
        const handler = yield* scripts.create({ app_id: DEFAULT_APP_ID, name: unique("handler"), source: "x" })
        const post = yield* routes.create({
          ...base,
          method: "POST",
          path,
          shape,
          dispatch_mode: "async",
          retry,
          dead_letter_script_id: handler.id
        })
        assert.deepStrictEqual(yield* routes.get(post.id), post)
        assert.deepStrictEqual(post.retry, retry)
        assert.strictEqual(post.dispatch_mode, "async")
        assert.strictEqual(post.dead_letter_script_id, handler.id)
        // Deleting the handler's script takes it off the route, which stays.
        yield* routes.deleteForScript(handler.id)
        yield* scripts.delete(handler.id)
        assert.deepStrictEqual(yield* routes.get(post.id), { ...post, dead_letter_script_id: null })
        yield* routes.delete(route.id)
        assert.strictEqual((yield* routes.get(route.id).pipe(Effect.flip))._tag, "RouteNotFound")
        assert.strictEqual((yield* routes.delete(route.id).pipe(Effect.flip))._tag, "RouteNotFound")
        yield* routes.deleteForScript(script.id)
        assert.strictEqual((yield* routes.get(post.id).pipe(Effect.flip))._tag, "RouteNotFound")
        assert.strictEqual((yield* routes.get("not-a-uuid").pipe(Effect.flip))._tag, "RouteNotFound")
      }))
  })

contract("memory", Layer.merge(RouteRepoMemory.layer, ScriptRepoMemory.layer))
contract("sql", Layer.merge(RouteRepoSql.layer, ScriptRepoSql.layer).pipe(Layer.provideMerge(TestDatabase)))
