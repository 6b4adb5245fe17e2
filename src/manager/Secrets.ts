import { Context, Effect, Layer } from "effect"
import type { PersistenceError } from "../domain/Errors.ts"
import { SecretChanges } from "../domain/SecretChanges.ts"
import { type SecretInfo, SecretRepo } from "../domain/SecretRepo.ts"
import { SecretCipher, type SecretKeyMissing } from "./SecretCipher.ts"

/** Writing app secrets: encrypted before they are stored; the app's cached `ctx.env` is dropped on every change. */
export class Secrets extends Context.Service<Secrets, {
  readonly put: (
    appId: string,
    name: string,
    value: string
  ) => Effect.Effect<SecretInfo, SecretKeyMissing | PersistenceError>
  /** `false` when there was no such secret. */
  readonly delete: (appId: string, name: string) => Effect.Effect<boolean, PersistenceError>
}>()("picloud/manager/Secrets") {
  static readonly layer = Layer.effect(
    Secrets,
    Effect.gen(function*() {
      const secrets = yield* SecretRepo
      const cipher = yield* SecretCipher
      const changes = yield* SecretChanges
      return Secrets.of({
        put: Effect.fn("Secrets.put")(function*(appId, name, value) {
          const info = yield* secrets.put(appId, name, yield* cipher.encrypt(value))
          yield* changes.publish(appId)
          return info
        }),
        delete: Effect.fn("Secrets.delete")(function*(appId, name) {
          const deleted = yield* secrets.delete(appId, name)
          if (deleted) yield* changes.publish(appId)
          return deleted
        })
      })
    })
  )
}
