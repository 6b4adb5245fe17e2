import { Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { type App, type CreateApp, DEFAULT_APP_ID, DEFAULT_APP_NAME } from "../domain/App.ts"
import { AppRepo } from "../domain/AppRepo.ts"
import { AppNameTaken, AppNotFound } from "../domain/Errors.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

/** Apps in memory, starting, like a migrated database, with the default app. */
export const layer = Layer.sync(AppRepo, () => {
  const apps = new Map<string, App>([[DEFAULT_APP_ID, {
    id: DEFAULT_APP_ID,
    name: DEFAULT_APP_NAME,
    created_at: new Date(0).toISOString()
  }]])
  const byName = (name: string) => [...apps.values()].find((a) => a.name === name)
  return AppRepo.of({
    create: Effect.fn("AppRepo.create")(function*(input: CreateApp) {
      if (byName(input.name)) return yield* new AppNameTaken({ name: input.name })
      const app: App = { id: randomUUID(), name: input.name, created_at: new Date().toISOString() }
      apps.set(app.id, app)
      return app
    }),
    list: Effect.sync(() => [...apps.values()]),
    findByRef: (ref) =>
      Effect.sync(() => Option.fromNullishOr(UUID_PATTERN.test(ref) ? apps.get(ref.toLowerCase()) : byName(ref))),
    delete: (id) => (apps.delete(id) ? Effect.void : Effect.fail(new AppNotFound({ ref: id })))
  })
})
