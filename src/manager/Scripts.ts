import { Context, Effect, Layer } from "effect"
import * as Settings from "../config/Settings.ts"
import {
  type PersistenceError,
  type ScriptInvalid,
  type ScriptNameTaken,
  type ScriptNotFound,
  ScriptTooLarge
} from "../domain/Errors.ts"
import { ScriptValidator } from "../domain/Executor.ts"
import type { ScriptId } from "../domain/Ids.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { RouteRepo } from "../domain/RouteRepo.ts"
import { ScheduleRepo } from "../domain/ScheduleRepo.ts"
import type { NewScript, Script, UpdateScript } from "../domain/Script.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { ScriptRepo } from "../domain/ScriptRepo.ts"
import { Transactions } from "../domain/Transactions.ts"
import { TriggerChanges } from "../domain/TriggerChanges.ts"
import { TriggerRepo } from "../domain/TriggerRepo.ts"

/**
 * Writing scripts: every source is checked against `PICLOUD_MAX_SCRIPT_BYTES` and compiled before
 * it is stored; a delete takes the script's routes and triggers with it in one transaction (and
 * removes it as the dead-letter handler of other triggers); caches hear of each change once it is
 * committed. Who may do what is the caller's to decide.
 */
export class Scripts extends Context.Service<Scripts, {
  readonly create: (
    input: NewScript
  ) => Effect.Effect<Script, ScriptTooLarge | ScriptInvalid | ScriptNameTaken | PersistenceError>
  readonly update: (
    id: ScriptId,
    input: UpdateScript
  ) => Effect.Effect<Script, ScriptTooLarge | ScriptInvalid | ScriptNotFound | ScriptNameTaken | PersistenceError>
  /** The script, its routes, its triggers and its schedules, or none of them. */
  readonly delete: (script: Script) => Effect.Effect<void, ScriptNotFound | PersistenceError>
}>()("picloud/manager/Scripts") {
  static readonly layer = Layer.effect(
    Scripts,
    Effect.gen(function*() {
      const scripts = yield* ScriptRepo
      const routes = yield* RouteRepo
      const triggers = yield* TriggerRepo
      const schedules = yield* ScheduleRepo
      const validator = yield* ScriptValidator
      const transactions = yield* Transactions
      const scriptChanges = yield* ScriptChanges
      const routeChanges = yield* RouteChanges
      const triggerChanges = yield* TriggerChanges
      const maxBytes = yield* Settings.maxScriptBytes.config

      /** Refused before it is compiled or stored (measured in UTF-8 bytes), then compiled. */
      const checked = (source: string) =>
        Buffer.byteLength(source, "utf8") > maxBytes
          ? Effect.fail(new ScriptTooLarge({ limit: maxBytes }))
          : validator.validate(source)

      return Scripts.of({
        create: Effect.fn("Scripts.create")(function*(input) {
          yield* checked(input.source)
          return yield* scripts.create(input)
        }),
        update: Effect.fn("Scripts.update")(function*(id, input) {
          yield* checked(input.source)
          const script = yield* scripts.update(id, input)
          yield* scriptChanges.publish(script.id)
          return script
        }),
        delete: Effect.fn("Scripts.delete")(function*(script) {
          yield* transactions.atomically(Effect.gen(function*() {
            yield* routes.deleteForScript(script.id)
            yield* triggers.deleteForScript(script.id)
            yield* schedules.deleteForScript(script.id)
            yield* scripts.delete(script.id)
          }))
          yield* scriptChanges.publish(script.id)
          yield* routeChanges.publish(script.app_id)
          yield* triggerChanges.publish(script.app_id)
        })
      })
    })
  )
}
