import { Effect, Layer } from "effect"
import { NotifyBus } from "../db/NotifyBus.ts"
import { InboxResolver } from "../domain/InboxResolver.ts"
import * as InboxResolverLocal from "./InboxResolverLocal.ts"

/**
 * The inbox across processes: callers park in this process (as `InboxResolverLocal`), and a
 * delivery also goes out by NOTIFY, keyed by execution id, so a caller waiting (`?wait`) on one
 * node wakes when the execution ends on another. A lost note only makes that caller wait out its
 * `wait`: it reads the status again when it wakes.
 */
export const layer = Layer.effect(
  InboxResolver,
  Effect.gen(function*() {
    const local = yield* InboxResolver
    const bus = yield* NotifyBus
    yield* bus.subscribe("inbox", local.deliver)
    return InboxResolver.of({
      register: local.register,
      deliver: (id) => local.deliver(id).pipe(Effect.andThen(bus.publish("inbox", id)))
    })
  })
).pipe(Layer.provide(InboxResolverLocal.layer))
