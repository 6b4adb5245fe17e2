import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { DEFAULT_APP_ID, DEFAULT_APP_NAME } from "../../src/domain/App.ts"
import { AppRepo } from "../../src/domain/AppRepo.ts"
import * as AppRepoMemory from "../../src/manager/AppRepoMemory.ts"
import * as AppRepoSql from "../../src/manager/AppRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`

const contract = (name: string, appLayer: Layer.Layer<AppRepo, unknown>) =>
  layer(appLayer, { timeout: "60 seconds" })(`AppRepo (${name})`, (it) => {
    it.effect("the default app exists from the start", () =>
      Effect.gen(function*() {
        const apps = yield* AppRepo
        assert.strictEqual(Option.getOrThrow(yield* apps.findByRef(DEFAULT_APP_NAME)).id, DEFAULT_APP_ID)
        assert.strictEqual(Option.getOrThrow(yield* apps.findByRef(DEFAULT_APP_ID)).name, DEFAULT_APP_NAME)
        assert.strictEqual((yield* apps.list)[0]!.id, DEFAULT_APP_ID)
      }))

    it.effect("create, find by name or id, list, delete", () =>
      Effect.gen(function*() {
        const apps = yield* AppRepo
        const name = unique("shop")
        const app = yield* apps.create({ name })
        assert.strictEqual(app.name, name)
        assert.strictEqual(Option.getOrThrow(yield* apps.findByRef(name)).id, app.id)
        assert.strictEqual(Option.getOrThrow(yield* apps.findByRef(app.id)).name, name)
        assert.include((yield* apps.list).map((a) => a.id), app.id)
        yield* apps.delete(app.id)
        assert.isTrue(Option.isNone(yield* apps.findByRef(app.id)))
        assert.strictEqual((yield* apps.delete(app.id).pipe(Effect.flip))._tag, "AppNotFound")
      }))

    it.effect("names are unique; unknown refs find nothing", () =>
      Effect.gen(function*() {
        const apps = yield* AppRepo
        const name = unique("dup")
        yield* apps.create({ name })
        assert.strictEqual((yield* apps.create({ name }).pipe(Effect.flip))._tag, "AppNameTaken")
        for (const ref of ["nope", "6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11", ""]) {
          assert.isTrue(Option.isNone(yield* apps.findByRef(ref)), ref)
        }
        assert.strictEqual((yield* apps.delete("not-a-uuid").pipe(Effect.flip))._tag, "AppNotFound")
      }))
  })

contract("memory", AppRepoMemory.layer)
contract("sql", AppRepoSql.layer.pipe(Layer.provideMerge(TestDatabase)))
