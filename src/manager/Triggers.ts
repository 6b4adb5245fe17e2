import { Context, Effect, Layer } from "effect"
import {
  AppNotFound,
  type PersistenceError,
  ScriptNotFound,
  type TriggerNotFound,
  TriggerPatternInvalid
} from "../domain/Errors.ts"
import { type Principal, requireManages } from "../domain/Identity.ts"
import { compileKeyPattern } from "../domain/KeyPattern.ts"
import { withRetryDefaults } from "../domain/RetryPolicy.ts"
import { scriptOfApp, ScriptRepo } from "../domain/ScriptRepo.ts"
import {
  ALL_TRIGGER_OPS,
  type CreateTrigger,
  normalizeOps,
  type Trigger,
  type TriggerPatch,
  type UpdateTrigger
} from "../domain/Trigger.ts"
import { TriggerChanges } from "../domain/TriggerChanges.ts"
import { TriggerRepo } from "../domain/TriggerRepo.ts"

/**
 * Writing triggers. The writer must manage the trigger's app (else the app does not exist for it)
 * and becomes the trigger's registrant, whom it runs as: on create and on every update, so no one
 * can make a trigger run a script of their choosing as someone else. Both scripts must be the
 * app's. The trigger table hears of every change before the call returns.
 */
export class Triggers extends Context.Service<Triggers, {
  readonly create: (
    registrant: Principal,
    appId: string,
    input: CreateTrigger
  ) => Effect.Effect<Trigger, AppNotFound | TriggerPatternInvalid | ScriptNotFound | PersistenceError>
  readonly update: (
    registrant: Principal,
    trigger: Trigger,
    input: UpdateTrigger
  ) => Effect.Effect<
    Trigger,
    AppNotFound | TriggerPatternInvalid | ScriptNotFound | TriggerNotFound | PersistenceError
  >
  readonly delete: (
    principal: Principal,
    trigger: Trigger
  ) => Effect.Effect<void, AppNotFound | TriggerNotFound | PersistenceError>
}>()("picloud/manager/Triggers") {
  static readonly layer = Layer.effect(
    Triggers,
    Effect.gen(function*() {
      const triggers = yield* TriggerRepo
      const scripts = yield* ScriptRepo
      const changes = yield* TriggerChanges

      /** The id of the script `ref` names in the app. */
      const scriptOf = (appId: string, ref: string) =>
        scriptOfApp(scripts, appId, ref).pipe(Effect.map((script) => script.id))

      const checkedPattern = (pattern: string) => {
        const compiled = compileKeyPattern(pattern)
        return typeof compiled === "string"
          ? Effect.fail(new TriggerPatternInvalid({ pattern, reason: compiled }))
          : Effect.succeed(pattern)
      }

      return Triggers.of({
        create: Effect.fn("Triggers.create")(function*(registrant, appId, input) {
          yield* requireManages(registrant, appId)
          const key_pattern = yield* checkedPattern(input.key_pattern)
          const script_id = yield* scriptOf(appId, input.script)
          const deadLetter = input.dead_letter_script ?? null
          const trigger = yield* triggers.create({
            app_id: appId,
            script_id,
            key_pattern,
            ops: normalizeOps(input.ops ?? ALL_TRIGGER_OPS),
            retry: withRetryDefaults(input.retry),
            dead_letter_script_id: deadLetter === null ? null : yield* scriptOf(appId, deadLetter),
            enabled: input.enabled ?? true,
            registrant_user_id: registrant.user_id
          })
          yield* changes.publish(appId)
          return trigger
        }),
        update: Effect.fn("Triggers.update")(function*(registrant, trigger, input) {
          yield* requireManages(registrant, trigger.app_id)
          const patch: { -readonly [K in keyof TriggerPatch]: TriggerPatch[K] } = {
            registrant_user_id: registrant.user_id
          }
          if (input.key_pattern !== undefined) patch.key_pattern = yield* checkedPattern(input.key_pattern)
          if (input.script !== undefined) patch.script_id = yield* scriptOf(trigger.app_id, input.script)
          if (input.dead_letter_script !== undefined) {
            patch.dead_letter_script_id = input.dead_letter_script === null
              ? null
              : yield* scriptOf(trigger.app_id, input.dead_letter_script)
          }
          if (input.ops !== undefined) patch.ops = normalizeOps(input.ops)
          if (input.retry !== undefined) patch.retry = withRetryDefaults(input.retry)
          if (input.enabled !== undefined) patch.enabled = input.enabled
          const updated = yield* triggers.update(trigger.id, patch)
          yield* changes.publish(trigger.app_id)
          return updated
        }),
        delete: Effect.fn("Triggers.delete")(function*(principal, trigger) {
          yield* requireManages(principal, trigger.app_id)
          yield* triggers.delete(trigger.id)
          yield* changes.publish(trigger.app_id)
        })
      })
    })
  )
}
