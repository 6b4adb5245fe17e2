import { Context, Layer } from "effect"
import { type ChangeFeed, makeLocalFeed } from "./ChangeFeed.ts"

/** Tells whoever caches apps' decrypted secrets (`ctx.env`) that an app's secrets changed (the payload is the app id). */
export class SecretChanges
  extends Context.Service<SecretChanges, ChangeFeed<string>>()("picloud/domain/SecretChanges")
{
  /** In-process delivery, for all-in-one and tests. */
  static readonly layer = Layer.sync(SecretChanges, () => SecretChanges.of(makeLocalFeed<string>()))
}
