import { type Context, Effect, Layer } from "effect"
import { NotifyBus } from "../db/NotifyBus.ts"
import { type ChangeFeed, EVERYTHING, makeLocalFeed } from "../domain/ChangeFeed.ts"
import { IdentityChanges } from "../domain/IdentityChanges.ts"
import { RouteChanges } from "../domain/RouteChanges.ts"
import { ScriptChanges } from "../domain/ScriptChanges.ts"
import { SecretChanges } from "../domain/SecretChanges.ts"
import { TriggerChanges } from "../domain/TriggerChanges.ts"
import * as InboxResolverPg from "../orchestrator/InboxResolverPg.ts"

/**
 * A change feed shared by every process on the database: `publish` runs this process's listeners
 * (so the caller sees the change once it returns, as in one process) and then tells the others by
 * NOTIFY, whose listeners run when it arrives (well within a second).
 */
const feed = <I>(tag: Context.Key<I, ChangeFeed<string>>, kind: string) =>
  Layer.effect(
    tag,
    Effect.gen(function*() {
      const bus = yield* NotifyBus
      const local = makeLocalFeed<string>()
      yield* bus.subscribe(kind, local.publish)
      // Back from a lost LISTEN: whatever changed meanwhile is unknown, so everything did.
      yield* bus.onGap(local.publish(EVERYTHING))
      return {
        publish: (id: string) => local.publish(id).pipe(Effect.andThen(bus.publish(kind, id))),
        listen: local.listen
      } satisfies ChangeFeed<string>
    })
  )

/**
 * `Platform.LocalDelivery` for the processes of a cluster: the same change feeds and inbox over
 * PostgreSQL LISTEN/NOTIFY, so a change made on the manager (a script, route, trigger, secret,
 * user or token) reaches every orchestrator's caches, and a `?wait` on one node is answered by a
 * dispatch on another. Needs the `PgClient`.
 */
export const layer = Layer.mergeAll(
  feed(ScriptChanges, "script"),
  feed(RouteChanges, "route"),
  feed(TriggerChanges, "trigger"),
  feed(SecretChanges, "secret"),
  feed(IdentityChanges, "identity"),
  InboxResolverPg.layer
).pipe(Layer.provideMerge(NotifyBus.layer))
