import { Context, type Effect, type Scope } from "effect"

/**
 * Where a caller waiting for an async execution's result parks (`GET /api/executions/{id}?wait=N`),
 * and how the dispatcher tells it the result is in. A caller registers before it reads the status,
 * so a result that lands in between is not missed.
 */
export class InboxResolver extends Context.Service<InboxResolver, {
  /** Registers interest in `id` for the scope's life; the effect returned completes on delivery. */
  readonly register: (id: string) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  /** The execution `id` has ended: wakes everyone registered for it. */
  readonly deliver: (id: string) => Effect.Effect<void>
}>()("picloud/domain/InboxResolver") {}
