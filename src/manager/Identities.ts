import { Context, Effect, Layer } from "effect"
import type { PersistenceError, TokenNotFound, UserNotFound } from "../domain/Errors.ts"
import type { User } from "../domain/Identity.ts"
import { IdentityChanges } from "../domain/IdentityChanges.ts"
import { IdentityRepo } from "../domain/IdentityRepo.ts"

/**
 * Changing access: a deleted user's, a revoked token's or a regranted user's cached principal is
 * forgotten at once.
 */
export class Identities extends Context.Service<Identities, {
  /** The user and all its tokens. */
  readonly deleteUser: (id: string) => Effect.Effect<void, UserNotFound | PersistenceError>
  readonly revokeToken: (id: string) => Effect.Effect<void, TokenNotFound | PersistenceError>
  /** Replaces the user's app grants; its tokens act with the new ones from the next request. */
  readonly setGrants: (
    id: string,
    appIds: ReadonlyArray<string>
  ) => Effect.Effect<User, UserNotFound | PersistenceError>
}>()("picloud/manager/Identities") {
  static readonly layer = Layer.effect(
    Identities,
    Effect.gen(function*() {
      const identities = yield* IdentityRepo
      const changes = yield* IdentityChanges
      return Identities.of({
        deleteUser: Effect.fn("Identities.deleteUser")(function*(id) {
          yield* identities.deleteUser(id)
          yield* changes.publish(`user ${id}`)
        }),
        revokeToken: Effect.fn("Identities.revokeToken")(function*(id) {
          yield* identities.revokeToken(id)
          yield* changes.publish(`token ${id}`)
        }),
        setGrants: Effect.fn("Identities.setGrants")(function*(id, appIds) {
          const user = yield* identities.setGrants(id, appIds)
          yield* changes.publish(`user ${id}`)
          return user
        })
      })
    })
  )
}
