import { Data, Effect, Layer } from "effect"
import { AppEnv } from "../domain/AppEnv.ts"
import { EVERYTHING } from "../domain/ChangeFeed.ts"
import { SecretChanges } from "../domain/SecretChanges.ts"
import { SecretRepo } from "../domain/SecretRepo.ts"
import { SecretCipher } from "./SecretCipher.ts"

/** Secrets are stored but no key was given: reading them is impossible, so PiCloud does not start. */
export class SecretKeyRequired extends Data.TaggedError("SecretKeyRequired")<{ readonly message: string }> {}

/**
 * `ctx.env` of each app: its secrets, decrypted once and cached until `SecretChanges` reports them changed. Refuses to
 * start when encrypted secrets exist and `PICLOUD_SECRET_KEY` is not set.
 */
export const layer = Layer.effect(
  AppEnv,
  Effect.gen(function*() {
    const secrets = yield* SecretRepo
    const cipher = yield* SecretCipher
    if (!cipher.hasKey) {
      const stored = yield* secrets.count
      if (stored > 0) {
        return yield* new SecretKeyRequired({
          message:
            `${stored} encrypted secret(s) are stored but PICLOUD_SECRET_KEY is not set; start with the key they were stored under`
        })
      }
    }
    const cache = new Map<string, Record<string, string>>()
    // Untraced: it runs on every request of the data plane, where a span per call is measurable cost.
    const forApp = Effect.fnUntraced(function*(appId: string) {
      const cached = cache.get(appId)
      if (cached) return cached
      const env: Record<string, string> = {}
      for (const { name, ciphertext } of yield* secrets.ciphertexts(appId)) {
        // A secret that cannot be read (another key, tampered) is left out and reported, not fatal.
        const value = yield* cipher.decrypt(ciphertext).pipe(
          Effect.catch((error) =>
            Effect.logError(`secret ${name} of app ${appId} cannot be decrypted: ${error._tag}`).pipe(
              Effect.as(undefined)
            )
          )
        )
        if (value !== undefined) env[name] = value
      }
      cache.set(appId, env)
      return env
    })
    const forget = (appId: string) => Effect.sync(() => appId === EVERYTHING ? cache.clear() : void cache.delete(appId))
    yield* (yield* SecretChanges).listen(forget)
    return AppEnv.of({ forApp, forget })
  })
)
