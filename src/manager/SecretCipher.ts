import { Context, Data, Effect, Layer, Option, Redacted } from "effect"
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto"
import * as Settings from "../config/Settings.ts"

/** No `PICLOUD_SECRET_KEY`: secrets can be neither stored nor read. */
export class SecretKeyMissing extends Data.TaggedError("SecretKeyMissing")<{}> {}

/** A stored secret that does not decrypt under this key (another key, or tampered with). */
export class SecretDecryptError extends Data.TaggedError("SecretDecryptError")<{ readonly reason: string }> {}

/** Fixed salt for passphrase keys: the passphrase is the secret; the salt only separates uses. */
const PASSPHRASE_SALT = "picloud-secrets-v1"

/** 64 hex characters or base64 of 32 bytes are used as the key itself; anything else is a passphrase (scrypt). */
export const deriveKey = (value: string): Buffer => {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, "hex")
  const base64 = Buffer.from(value, "base64")
  if (base64.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return base64
  return scryptSync(value, PASSPHRASE_SALT, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
}

const b64 = (buffer: Buffer) => buffer.toString("base64url")

/**
 * Encrypts app secrets at rest with AES-256-GCM under `PICLOUD_SECRET_KEY`. A ciphertext is
 * `v1:<iv>:<ciphertext>:<tag>` (base64url), with a fresh 12-byte IV each time; the tag makes any
 * tampering, or a wrong key, a `SecretDecryptError` rather than garbage.
 */
export class SecretCipher extends Context.Service<SecretCipher, {
  readonly hasKey: boolean
  readonly encrypt: (plaintext: string) => Effect.Effect<string, SecretKeyMissing>
  readonly decrypt: (ciphertext: string) => Effect.Effect<string, SecretKeyMissing | SecretDecryptError>
}>()("picloud/manager/SecretCipher") {
  static readonly make = (key: Buffer | undefined) =>
    SecretCipher.of({
      hasKey: key !== undefined,
      encrypt: (plaintext) =>
        key === undefined
          ? Effect.fail(new SecretKeyMissing())
          : Effect.sync(() => {
            const iv = randomBytes(12)
            const cipher = createCipheriv("aes-256-gcm", key, iv)
            const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
            return `v1:${b64(iv)}:${b64(body)}:${b64(cipher.getAuthTag())}`
          }),
      decrypt: (ciphertext) => {
        if (key === undefined) return Effect.fail(new SecretKeyMissing())
        const [version, iv, body, tag, ...rest] = ciphertext.split(":")
        if (version !== "v1" || iv === undefined || body === undefined || tag === undefined || rest.length > 0) {
          return Effect.fail(new SecretDecryptError({ reason: "not a v1 ciphertext" }))
        }
        return Effect.try({
          try: () => {
            const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"))
            decipher.setAuthTag(Buffer.from(tag, "base64url"))
            return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8")
          },
          catch: () => new SecretDecryptError({ reason: "wrong key, or the ciphertext was altered" })
        })
      }
    })

  static readonly layer = Layer.effect(
    SecretCipher,
    Effect.gen(function*() {
      const configured = yield* Settings.secretKey.config
      const value = Option.filter(Option.map(configured, Redacted.value), (v) => v.length > 0)
      return SecretCipher.make(Option.isSome(value) ? deriveKey(value.value) : undefined)
    })
  )

  static readonly layerTest = (key: string) => Layer.succeed(SecretCipher, SecretCipher.make(deriveKey(key)))
}
