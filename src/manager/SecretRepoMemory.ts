import { Effect, Layer } from "effect"
import { SecretRepo } from "../domain/SecretRepo.ts"

interface Stored {
  readonly ciphertext: string
  readonly created_at: string
  readonly updated_at: string
}

/** Secret ciphertexts in memory, by app then name. */
export const layer = Layer.sync(SecretRepo, () => {
  const apps = new Map<string, Map<string, Stored>>()
  const of = (appId: string) => apps.get(appId) ?? new Map<string, Stored>()
  return SecretRepo.of({
    put: (appId, name, ciphertext) =>
      Effect.sync(() => {
        const secrets = of(appId)
        const now = new Date().toISOString()
        const stored = { ciphertext, created_at: secrets.get(name)?.created_at ?? now, updated_at: now }
        secrets.set(name, stored)
        apps.set(appId, secrets)
        return { name, created_at: stored.created_at, updated_at: stored.updated_at }
      }),
    list: (appId) =>
      Effect.sync(() =>
        [...of(appId)].map(([name, s]) => ({ name, created_at: s.created_at, updated_at: s.updated_at })).sort((a, b) =>
          a.name.localeCompare(b.name)
        )
      ),
    ciphertexts: (appId) => Effect.sync(() => [...of(appId)].map(([name, s]) => ({ name, ciphertext: s.ciphertext }))),
    delete: (appId, name) => Effect.sync(() => of(appId).delete(name)),
    count: Effect.sync(() => [...apps.values()].reduce((n, secrets) => n + secrets.size, 0))
  })
})
