import { Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { ScriptNameTaken, ScriptNotFound } from "../domain/Errors.ts"
import { type ScriptId, UUID_PATTERN } from "../domain/Ids.ts"
import {
  DEFAULT_TIMEOUT_SECONDS,
  type NewScript,
  Script,
  ScriptWithSource,
  type UpdateScript
} from "../domain/Script.ts"
import { ScriptRepo } from "../domain/ScriptRepo.ts"

interface Stored {
  readonly script: Script
  /** Every version's source, index 0 = version 1 (kept like `script_versions`). */
  readonly sources: ReadonlyArray<string>
}

const withSource = (stored: Stored) =>
  new ScriptWithSource({ ...stored.script, source: stored.sources[stored.script.version - 1]! })

/** Scripts in memory, with the same rules as the SQL layer: names unique per app, versions kept, newest first. */
export const layer = Layer.sync(ScriptRepo, () => {
  const scripts = new Map<string, Stored>()
  const byName = (appId: string, name: string) =>
    [...scripts.values()].find((s) => s.script.app_id === appId && s.script.name === name)
  const now = () => new Date().toISOString()

  return ScriptRepo.of({
    create: Effect.fn("ScriptRepo.create")(function*(input: NewScript) {
      if (byName(input.app_id, input.name)) return yield* new ScriptNameTaken({ name: input.name })
      const at = now()
      const script = new Script({
        id: randomUUID() as ScriptId,
        app_id: input.app_id,
        name: input.name,
        version: 1,
        timeout_seconds: input.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS,
        created_at: at,
        updated_at: at
      })
      scripts.set(script.id, { script, sources: [input.source] })
      return script
    }),
    list: (appId) =>
      Effect.sync(() =>
        [...scripts.values()].map((s) => s.script).filter((s) => appId === undefined || s.app_id === appId).reverse()
      ),
    get: (id) => {
      const stored = scripts.get(id.toLowerCase())
      return stored ? Effect.succeed(withSource(stored)) : Effect.fail(new ScriptNotFound({ ref: id }))
    },
    find: (id) => {
      const stored = scripts.get(id.toLowerCase())
      return stored ? Effect.succeed(stored.script) : Effect.fail(new ScriptNotFound({ ref: id }))
    },
    findByRef: (appId, ref) =>
      Effect.sync(() => {
        const stored = UUID_PATTERN.test(ref) ? scripts.get(ref.toLowerCase()) : byName(appId, ref)
        return stored ? Option.some(withSource(stored)) : Option.none()
      }),
    update: Effect.fn("ScriptRepo.update")(function*(ref: ScriptId, input: UpdateScript) {
      const stored = scripts.get(ref.toLowerCase())
      if (!stored) return yield* new ScriptNotFound({ ref })
      const id = stored.script.id
      const name = input.name ?? stored.script.name
      const holder = byName(stored.script.app_id, name)
      if (holder && holder.script.id !== id) return yield* new ScriptNameTaken({ name })
      const script = new Script({
        ...stored.script,
        name,
        version: stored.script.version + 1,
        timeout_seconds: input.timeout_seconds ?? stored.script.timeout_seconds,
        updated_at: now()
      })
      scripts.set(id, { script, sources: [...stored.sources, input.source] })
      return script
    }),
    delete: (id) => scripts.delete(id.toLowerCase()) ? Effect.void : Effect.fail(new ScriptNotFound({ ref: id }))
  })
})
