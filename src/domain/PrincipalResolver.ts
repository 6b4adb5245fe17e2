import { Context, type Effect, type Option } from "effect"
import type { PersistenceError } from "./Errors.ts"
import type { Principal } from "./Identity.ts"

/**
 * Who a bearer token acts as: `None` for a token that is unknown or revoked. Answers may be cached
 * (the data plane asks on every call): whoever changes users or tokens calls `forgetAll`.
 */
export class PrincipalResolver extends Context.Service<PrincipalResolver, {
  readonly fromToken: (token: string) => Effect.Effect<Option.Option<Principal>, PersistenceError>
  /**
   * The user `userId` as a principal, if it still exists and may act on app `appId` (an admin, or
   * granted the app): who a KV trigger runs as. `None` for a user deleted or no longer granted it.
   */
  readonly forUser: (userId: string, appId: string) => Effect.Effect<Option.Option<Principal>, PersistenceError>
  readonly forgetAll: Effect.Effect<void>
}>()("picloud/domain/PrincipalResolver") {}
