import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { IdentityChanges } from "../../../src/domain/IdentityChanges.ts"
import { IdentityRepo } from "../../../src/domain/IdentityRepo.ts"
import { PrincipalResolver } from "../../../src/domain/PrincipalResolver.ts"
import * as IdentityRepoMemory from "../../../src/manager/IdentityRepoMemory.ts"
import * as PrincipalResolverTokens from "../../../src/manager/PrincipalResolverTokens.ts"

const [appA, appB] = [crypto.randomUUID(), crypto.randomUUID()]

const resolver = (config: Record<string, string> = { PICLOUD_ADMIN_TOKEN: "env-admin" }) =>
  PrincipalResolverTokens.layer.pipe(
    Layer.provideMerge(Layer.merge(IdentityRepoMemory.layer, IdentityChanges.layer)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(config)))
  )

describe("PrincipalResolver.forUser: who a KV trigger runs as", () => {
  it.effect("a user granted the app, or an admin; not a user of another app, an unknown one or a name", () =>
    Effect.gen(function*() {
      const identities = yield* IdentityRepo
      const principals = yield* PrincipalResolver
      const dev = yield* identities.createUser({
        username: "dev",
        passwordHash: "x",
        role: "developer",
        appIds: [appA]
      })
      const admin = yield* identities.createUser({ username: "root", passwordHash: "x", role: "admin", appIds: [] })
      assert.deepStrictEqual(
        yield* principals.forUser(dev.id, appA),
        Option.some({
          user_id: dev.id,
          username: "dev",
          role: "developer" as const,
          apps: [appA]
        })
      )
      assert.isTrue(Option.isNone(yield* principals.forUser(dev.id, appB)))
      assert.isTrue(Option.isSome(yield* principals.forUser(admin.id, appB)))
      assert.isTrue(Option.isNone(yield* principals.forUser(crypto.randomUUID(), appA)))
      assert.isTrue(Option.isNone(yield* principals.forUser("dev", appA)), "a name is not an id")
    }).pipe(Effect.provide(resolver())))

  it.effect("a deleted user is revoked once IdentityChanges reports it (as deleting a user does)", () =>
    Effect.gen(function*() {
      const identities = yield* IdentityRepo
      const principals = yield* PrincipalResolver
      const dev = yield* identities.createUser({
        username: "dev",
        passwordHash: "x",
        role: "developer",
        appIds: [appA]
      })
      assert.isTrue(Option.isSome(yield* principals.forUser(dev.id, appA)))
      yield* identities.deleteUser(dev.id)
      assert.isTrue(Option.isSome(yield* principals.forUser(dev.id, appA)), "cached until told")
      yield* (yield* IdentityChanges).publish(`user ${dev.id}`)
      assert.isTrue(Option.isNone(yield* principals.forUser(dev.id, appA)))
    }).pipe(Effect.provide(resolver())))

  it.effect("the PICLOUD_ADMIN_TOKEN admin, while that token is configured", () =>
    Effect.gen(function*() {
      const principals = yield* PrincipalResolver
      const envAdmin = Option.getOrThrow(yield* principals.fromToken("env-admin"))
      assert.deepStrictEqual(yield* principals.forUser(envAdmin.user_id, appB), Option.some(envAdmin))
      const without = yield* PrincipalResolver.pipe(Effect.provide(resolver({}), { local: true }))
      assert.isTrue(Option.isNone(yield* without.forUser(envAdmin.user_id, appB)))
    }).pipe(Effect.provide(resolver())))
})
