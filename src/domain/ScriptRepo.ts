import { Context, Effect, Option } from "effect"
import { type PersistenceError, type ScriptNameTaken, ScriptNotFound } from "./Errors.ts"
import type { ScriptId } from "./Ids.ts"
import type { NewScript, Script, ScriptWithSource, UpdateScript } from "./Script.ts"

/** Control-plane storage of scripts and their versions. `ScriptRepoSql` and `ScriptRepoMemory` behave alike. */
export class ScriptRepo extends Context.Service<ScriptRepo, {
  /** Stores version 1. Names are unique within an app. */
  readonly create: (input: NewScript) => Effect.Effect<Script, ScriptNameTaken | PersistenceError>
  /** Newest first; only the app's when `appId` is given. */
  readonly list: (appId?: string) => Effect.Effect<ReadonlyArray<Script>, PersistenceError>
  readonly get: (id: ScriptId) => Effect.Effect<ScriptWithSource, ScriptNotFound | PersistenceError>
  /**
   * The script without its source: what deciding who may update or delete it needs. A stored
   * source too large to read (from before sources had a limit) must not keep it from either.
   */
  readonly find: (id: ScriptId) => Effect.Effect<Script, ScriptNotFound | PersistenceError>
  /** By id (a UUID, any app) or else by name in `appId`: how the data plane addresses a script. */
  readonly findByRef: (appId: string, ref: string) => Effect.Effect<Option.Option<ScriptWithSource>, PersistenceError>
  /** Replaces the source (and name/timeout when given) and bumps `version`; the old version is kept. */
  readonly update: (
    id: ScriptId,
    input: UpdateScript
  ) => Effect.Effect<Script, ScriptNotFound | ScriptNameTaken | PersistenceError>
  readonly delete: (id: ScriptId) => Effect.Effect<void, ScriptNotFound | PersistenceError>
}>()("picloud/domain/ScriptRepo") {}

/**
 * The script `ref` names in the app (by name, or by the id of one of the app's scripts): what a
 * route, a trigger or a schedule may run. A script of another app is not found, as an unknown one.
 */
export const scriptOfApp = (
  scripts: ScriptRepo["Service"],
  appId: string,
  ref: string
): Effect.Effect<ScriptWithSource, ScriptNotFound | PersistenceError> =>
  scripts.findByRef(appId, ref).pipe(
    Effect.flatMap((script) =>
      Option.isSome(script) && script.value.app_id === appId
        ? Effect.succeed(script.value)
        : Effect.fail(new ScriptNotFound({ ref }))
    )
  )
