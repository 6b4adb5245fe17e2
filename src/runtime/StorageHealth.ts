import { Context, type Effect } from "effect"

/** Whether the storage behind this process answers (`GET /health`). */
export class StorageHealth extends Context.Service<StorageHealth, {
  readonly check: Effect.Effect<void, unknown>
}>()("picloud/runtime/StorageHealth") {}
