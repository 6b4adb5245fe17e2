import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { DEFAULT_APP_ID } from "../../src/domain/App.ts"
import { AppEnv } from "../../src/domain/AppEnv.ts"
import { SecretChanges } from "../../src/domain/SecretChanges.ts"
import { SecretRepo } from "../../src/domain/SecretRepo.ts"
import * as AppEnvSecrets from "../../src/manager/AppEnvSecrets.ts"
import { SecretCipher } from "../../src/manager/SecretCipher.ts"
import * as SecretRepoMemory from "../../src/manager/SecretRepoMemory.ts"
import * as SecretRepoSql from "../../src/manager/SecretRepoSql.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

let counter = 0
const unique = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${counter++}`

const contract = (name: string, repoLayer: Layer.Layer<SecretRepo, unknown>) =>
  layer(repoLayer, { timeout: "60 seconds" })(`SecretRepo (${name})`, (it) => {
    it.effect("put creates or replaces; list gives names; ciphertexts and delete per app", () =>
      Effect.gen(function*() {
        const repo = yield* SecretRepo
        const secret = unique("KEY")
        const before = yield* repo.count
        const first = yield* repo.put(DEFAULT_APP_ID, secret, "v1:a:b:c")
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
        const second = yield* repo.put(DEFAULT_APP_ID, secret, "v1:d:e:f")
        assert.strictEqual(second.created_at, first.created_at)
        assert.isAtLeast(Date.parse(second.updated_at), Date.parse(first.updated_at))
        assert.strictEqual(yield* repo.count, before + 1)
        assert.include((yield* repo.list(DEFAULT_APP_ID)).map((s) => s.name), secret)
        assert.deepStrictEqual((yield* repo.ciphertexts(DEFAULT_APP_ID)).find((s) => s.name === secret), {
          name: secret,
          ciphertext: "v1:d:e:f"
        })
        assert.deepStrictEqual(yield* repo.list("6f1c1a52-0d1e-4b7c-9d3e-0a4e8d0c9b11"), [])
        assert.isTrue(yield* repo.delete(DEFAULT_APP_ID, secret))
        assert.isFalse(yield* repo.delete(DEFAULT_APP_ID, secret))
        assert.strictEqual(yield* repo.count, before)
      }))
  })

contract("memory", SecretRepoMemory.layer)
contract("sql", SecretRepoSql.layer.pipe(Layer.provideMerge(TestDatabase)))

const withKey = (key: string | undefined) =>
  ConfigProvider.layer(ConfigProvider.fromUnknown(key === undefined ? {} : { PICLOUD_SECRET_KEY: key }))

layer(SecretRepoSql.layer.pipe(Layer.provideMerge(TestDatabase)), { timeout: "60 seconds" })(
  "secrets at rest (sql)",
  (it) => {
    it.effect("the table holds no plaintext; the app environment decrypts; no key with stored secrets refuses to start", () =>
      Effect.gen(function*() {
        const repo = yield* SecretRepo
        const sql = yield* SqlClient.SqlClient
        const cipher = SecretCipher.make(Buffer.alloc(32, 7))
        const plaintext = "very-secret-value-123"
        yield* repo.put(DEFAULT_APP_ID, "PLAIN_CHECK", yield* cipher.encrypt(plaintext))
        const dump = yield* sql<{ dump: string }>`SELECT row_to_json(s)::text AS dump FROM secrets s`
        assert.isFalse(dump.some((row) => row.dump.includes(plaintext)))

        const keyHex = Buffer.alloc(32, 7).toString("hex")
        const env = yield* AppEnv.pipe(
          Effect.provide(
            AppEnvSecrets.layer.pipe(
              Layer.provide([SecretCipher.layer, SecretChanges.layer]),
              Layer.provide(withKey(keyHex))
            )
          )
        )
        assert.strictEqual((yield* env.forApp(DEFAULT_APP_ID)).PLAIN_CHECK, plaintext)

        const refused = yield* AppEnv.pipe(
          Effect.provide(
            AppEnvSecrets.layer.pipe(
              Layer.provide([SecretCipher.layer, SecretChanges.layer]),
              Layer.provide(withKey(undefined))
            )
          ),
          Effect.flip
        )
        assert.strictEqual(refused._tag, "SecretKeyRequired")
        assert.match(String((refused as { message: string }).message), /PICLOUD_SECRET_KEY/)

        const wrongKey = yield* AppEnv.pipe(
          Effect.provide(
            AppEnvSecrets.layer.pipe(
              Layer.provide([SecretCipher.layer, SecretChanges.layer]),
              Layer.provide(withKey("another passphrase entirely"))
            )
          )
        )
        assert.isUndefined(
          (yield* wrongKey.forApp(DEFAULT_APP_ID)).PLAIN_CHECK,
          "a secret that does not decrypt is left out"
        )
      }))
  }
)
