import { Context, type Effect } from "effect"
import type { PersistenceError } from "./Errors.ts"

/** The environment a script of an app sees as `ctx.env`: its secrets, decrypted (cached per app). */
export class AppEnv extends Context.Service<AppEnv, {
  readonly forApp: (appId: string) => Effect.Effect<Record<string, string>, PersistenceError>
  /** Drops the cached environment of an app whose secrets changed. */
  readonly forget: (appId: string) => Effect.Effect<void>
}>()("picloud/domain/AppEnv") {}
