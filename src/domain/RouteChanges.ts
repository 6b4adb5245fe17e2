import { Context, Layer } from "effect"
import { type ChangeFeed, makeLocalFeed } from "./ChangeFeed.ts"

/** Tells the route table that the routes of an app changed (the payload is the app id). */
export class RouteChanges extends Context.Service<RouteChanges, ChangeFeed<string>>()("picloud/domain/RouteChanges") {
  /** In-process delivery, for all-in-one and tests. */
  static readonly layer = Layer.sync(RouteChanges, () => RouteChanges.of(makeLocalFeed<string>()))
}
