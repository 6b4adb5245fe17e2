import { Context, type Effect, type Option } from "effect"
import type { App, CreateApp } from "./App.ts"
import type { AppNameTaken, AppNotFound, PersistenceError } from "./Errors.ts"

/** Apps: the tenancy unit every script (and later route, KV entry, secret) belongs to. */
export class AppRepo extends Context.Service<AppRepo, {
  readonly create: (input: CreateApp) => Effect.Effect<App, AppNameTaken | PersistenceError>
  /** Oldest first (the default app leads). */
  readonly list: Effect.Effect<ReadonlyArray<App>, PersistenceError>
  /** By id (a UUID) or by name. */
  readonly findByRef: (ref: string) => Effect.Effect<Option.Option<App>, PersistenceError>
  /** Deletes the app. The caller deletes its contents first, or refuses while there are any. */
  readonly delete: (id: string) => Effect.Effect<void, AppNotFound | PersistenceError>
}>()("picloud/domain/AppRepo") {}
