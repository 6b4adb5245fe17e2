import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { TriggerNotFound } from "../domain/Errors.ts"
import type { Trigger } from "../domain/Trigger.ts"
import { TriggerRepo } from "../domain/TriggerRepo.ts"

/** Triggers in memory, oldest first, with the SQL layer's rules for a script being deleted. */
export const layer = Layer.sync(TriggerRepo, () => {
  const triggers = new Map<string, Trigger>()
  const now = () => new Date().toISOString()
  const find = (id: string) => triggers.get(id.toLowerCase())

  return TriggerRepo.of({
    create: Effect.fn("TriggerRepo.create")(function*(input) {
      const at = now()
      const trigger: Trigger = { ...input, id: randomUUID(), created_at: at, updated_at: at }
      triggers.set(trigger.id, trigger)
      return trigger
    }),
    list: Effect.fn("TriggerRepo.list")(function*(appId) {
      return [...triggers.values()].filter((t) => appId === undefined || t.app_id === appId)
    }),
    get: Effect.fn("TriggerRepo.get")(function*(id) {
      const trigger = find(id)
      if (trigger === undefined) return yield* new TriggerNotFound({ id })
      return trigger
    }),
    update: Effect.fn("TriggerRepo.update")(function*(id, patch) {
      const trigger = find(id)
      if (trigger === undefined) return yield* new TriggerNotFound({ id })
      const updated: Trigger = { ...trigger, ...patch, updated_at: now() }
      triggers.set(trigger.id, updated)
      return updated
    }),
    delete: Effect.fn("TriggerRepo.delete")(function*(id) {
      const trigger = find(id)
      if (trigger === undefined) return yield* new TriggerNotFound({ id })
      triggers.delete(trigger.id)
    }),
    deleteForScript: Effect.fn("TriggerRepo.deleteForScript")(function*(scriptId) {
      for (const [id, trigger] of triggers) {
        if (trigger.script_id === scriptId) triggers.delete(id)
        else if (trigger.dead_letter_script_id === scriptId) {
          triggers.set(id, { ...trigger, dead_letter_script_id: null, updated_at: now() })
        }
      }
    })
  })
})
