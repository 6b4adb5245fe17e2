import { Context, Layer } from "effect"
import { type ChangeFeed, makeLocalFeed } from "./ChangeFeed.ts"

/** Tells the trigger table that the triggers of an app changed (the payload is the app id). */
export class TriggerChanges
  extends Context.Service<TriggerChanges, ChangeFeed<string>>()("picloud/domain/TriggerChanges")
{
  /** In-process delivery, for all-in-one and tests. */
  static readonly layer = Layer.sync(TriggerChanges, () => TriggerChanges.of(makeLocalFeed<string>()))
}
