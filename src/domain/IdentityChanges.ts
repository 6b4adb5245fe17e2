import { Context, Layer } from "effect"
import { type ChangeFeed, makeLocalFeed } from "./ChangeFeed.ts"

/**
 * Tells whoever caches tokens' principals that users or tokens changed (a user deleted, a token
 * revoked): every cached answer may be wrong now. The payload names what changed, for logs only.
 */
export class IdentityChanges
  extends Context.Service<IdentityChanges, ChangeFeed<string>>()("picloud/domain/IdentityChanges")
{
  /** In-process delivery, for all-in-one and tests. */
  static readonly layer = Layer.sync(IdentityChanges, () => IdentityChanges.of(makeLocalFeed<string>()))
}
