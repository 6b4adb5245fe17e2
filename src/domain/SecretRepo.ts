import { Context, type Effect, Schema } from "effect"
import type { PersistenceError } from "./Errors.ts"
import { StorableText } from "./StorableText.ts"

/** Secret names become `ctx.env.NAME`: identifier-like. */
export const SecretName = StorableText(64).check(
  Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, {
    message: "secret names are 1-64 letters, digits or '_', not starting with a digit"
  })
)

export const PutSecret = Schema.Struct({
  name: SecretName,
  value: StorableText().check(Schema.isMaxLength(65536, { message: "a secret value is at most 64 KiB" }))
})

/** What the API shows of a secret: never its value. */
export const SecretInfo = Schema.Struct({
  name: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String
})
export type SecretInfo = typeof SecretInfo.Type

/** Stored secrets, as ciphertext only (encryption is the caller's: `SecretCipher`). */
export class SecretRepo extends Context.Service<SecretRepo, {
  /** Creates or replaces. */
  readonly put: (appId: string, name: string, ciphertext: string) => Effect.Effect<SecretInfo, PersistenceError>
  readonly list: (appId: string) => Effect.Effect<ReadonlyArray<SecretInfo>, PersistenceError>
  /** Name and ciphertext of every secret of the app. */
  readonly ciphertexts: (
    appId: string
  ) => Effect.Effect<ReadonlyArray<{ readonly name: string; readonly ciphertext: string }>, PersistenceError>
  /** `false` when there was no such secret. */
  readonly delete: (appId: string, name: string) => Effect.Effect<boolean, PersistenceError>
  /** How many secrets exist at all (start-up refuses to run without a key when there are any). */
  readonly count: Effect.Effect<number, PersistenceError>
}>()("picloud/domain/SecretRepo") {}
