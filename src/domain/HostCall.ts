import { Data, type Effect } from "effect"

/**
 * A call a running script makes to the platform (`kv.get`, ...): the operation's name and its
 * arguments as JSON text, as the guest sent them (untrusted: the receiver decodes them). It answers
 * with JSON text, or fails with the error the script sees thrown.
 */
export type HostCalls = (op: string, payload: string) => Effect.Effect<string, HostCallFailed>

/** What a script sees thrown by a host call: an `Error` with this name and message. */
export class HostCallFailed extends Data.TaggedError("HostCallFailed")<{
  /** The thrown error's `name` (`KvConflict`, `TypeError`, ...). */
  readonly kind: string
  readonly message: string
}> {}

/** The plain-data answer of a host call, as it crosses a worker boundary. */
export type HostReply =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly kind: string; readonly message: string }

/** A host call's handler on the executor's side of the boundary. */
export type HostHandler = (op: string, payload: string) => Promise<HostReply>

/** Where an execution that may not call the platform (validation, a module's top level) is sent. */
export const noHostCalls: HostHandler = (op) =>
  Promise.resolve({ ok: false, kind: "Error", message: `${op} can be called only while the handler runs` })
