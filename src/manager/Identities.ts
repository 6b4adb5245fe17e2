import { Context, Effect, Layer } from "effect"
import type { PersistenceError, TokenNotFound, UserNotFound } from "../domain/Errors.ts"
import { IdentityChanges } from "../domain/IdentityChanges.ts"
import { IdentityRepo } from "../domain/IdentityRepo.ts"

/** Taking access away: a deleted user's or a revoked token's cached principal is forgotten at once. */
export class Identities extends Context.Service<Identities, {
  /** The user and all its tokens. */
  readonly deleteUser: (id: string) => Effect.Effect<void, UserNotFound | PersistenceError>
  readonly revokeToken: (id: string) => Effect.Effect<void, TokenNotFound | PersistenceError>
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
        })
      })
    })
  )
}
