import { Context, type Effect } from "effect"
import type { PersistenceError, TriggerNotFound } from "./Errors.ts"
import type { NewTrigger, Trigger, TriggerPatch } from "./Trigger.ts"

/**
 * KV triggers: `(app, key pattern, ops) → script`, run as their registrant. Any number of triggers
 * may match one write (no conflicts). Both scripts belong to the trigger's app.
 */
export class TriggerRepo extends Context.Service<TriggerRepo, {
  readonly create: (trigger: NewTrigger) => Effect.Effect<Trigger, PersistenceError>
  /** Every trigger, or one app's; oldest first. */
  readonly list: (appId?: string) => Effect.Effect<ReadonlyArray<Trigger>, PersistenceError>
  readonly get: (id: string) => Effect.Effect<Trigger, TriggerNotFound | PersistenceError>
  /** Changes the fields given, sets the registrant and `updated_at`. */
  readonly update: (id: string, patch: TriggerPatch) => Effect.Effect<Trigger, TriggerNotFound | PersistenceError>
  readonly delete: (id: string) => Effect.Effect<void, TriggerNotFound | PersistenceError>
  /**
   * For a script that is being deleted: removes the triggers that run it (as its routes go), and
   * takes it off the triggers it handles dead letters for (they keep running, without a handler).
   */
  readonly deleteForScript: (scriptId: string) => Effect.Effect<void, PersistenceError>
}>()("picloud/domain/TriggerRepo") {}
