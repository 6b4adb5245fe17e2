import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { deriveKey, SecretCipher } from "../../../src/manager/SecretCipher.ts"

const cipher = (key: string) => SecretCipher.make(deriveKey(key))

describe("SecretCipher (AES-256-GCM)", () => {
  it.effect("round trips text, with a fresh IV every time", () =>
    Effect.gen(function*() {
      const c = cipher("a passphrase for tests")
      for (const text of ["", "plain", "ünïcödé ✓ 🔑", "x".repeat(70_000)]) {
        const sealed = yield* c.encrypt(text)
        assert.match(sealed, /^v1:[\w-]+:[\w-]*:[\w-]+$/)
        assert.strictEqual(yield* c.decrypt(sealed), text)
      }
      assert.notStrictEqual(yield* c.encrypt("same"), yield* c.encrypt("same"))
    }))

  it.effect("a wrong key, any altered character, or a malformed text fails as SecretDecryptError", () =>
    Effect.gen(function*() {
      const sealed = yield* cipher("key one").encrypt("secret")
      assert.strictEqual((yield* cipher("key two").decrypt(sealed).pipe(Effect.flip))._tag, "SecretDecryptError")
      const c = cipher("key one")
      // Alter every byte of the IV, the ciphertext and the tag in turn (bytes, not base64 characters:
      // a last base64 character can differ in padding bits that decode to the same bytes).
      const [version, ...parts] = sealed.split(":")
      for (const [p, part] of parts.entries()) {
        const bytes = Buffer.from(part!, "base64url")
        for (let i = 0; i < bytes.length; i++) {
          const altered = Buffer.from(bytes)
          altered[i] = altered[i]! ^ 0x01
          const tampered = [version, ...parts.map((q, j) => (j === p ? altered.toString("base64url") : q))].join(":")
          assert.strictEqual(
            (yield* c.decrypt(tampered).pipe(Effect.flip))._tag,
            "SecretDecryptError",
            `part ${p}, byte ${i}`
          )
        }
      }
      for (const bad of ["", "v2:a:b:c", "v1:a:b", "garbage", "v1:a:b:c:d"]) {
        assert.strictEqual((yield* c.decrypt(bad).pipe(Effect.flip))._tag, "SecretDecryptError", bad)
      }
    }))

  it("hex and base64 keys are used as they are; a passphrase always derives the same key", () => {
    const hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    assert.deepStrictEqual(deriveKey(hex), Buffer.from(hex, "hex"))
    const b64 = Buffer.alloc(32, 9).toString("base64")
    assert.deepStrictEqual(deriveKey(b64), Buffer.alloc(32, 9))
    assert.deepStrictEqual(deriveKey("my passphrase"), deriveKey("my passphrase"))
    assert.strictEqual(deriveKey("my passphrase").length, 32)
    assert.notDeepEqual(deriveKey("my passphrase"), deriveKey("my passphrasf"))
  })

  it.effect("without PICLOUD_SECRET_KEY both directions fail as SecretKeyMissing", () =>
    Effect.gen(function*() {
      const c = yield* SecretCipher
      assert.isFalse(c.hasKey)
      assert.strictEqual((yield* c.encrypt("x").pipe(Effect.flip))._tag, "SecretKeyMissing")
      assert.strictEqual((yield* c.decrypt("v1:a:b:c").pipe(Effect.flip))._tag, "SecretKeyMissing")
    }).pipe(Effect.provide(SecretCipher.layer), Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))))
})
