import { Context, Layer } from "effect"
import { type ChangeFeed, makeLocalFeed } from "./ChangeFeed.ts"

/**
 * Tells whoever caches scripts that one changed (updated or deleted), by id. Once `publish` returns,
 * every listener here has dropped the old version.
 */
export class ScriptChanges
  extends Context.Service<ScriptChanges, ChangeFeed<string>>()("picloud/domain/ScriptChanges")
{
  /** In-process delivery, for all-in-one and tests. */
  static readonly layer = Layer.sync(ScriptChanges, () => ScriptChanges.of(makeLocalFeed<string>()))
}
