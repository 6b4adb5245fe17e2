import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { ExecError, ExecRequest, ExecResponse } from "../domain/Exec.ts"

/** Where an executor serves its RPC (a WebSocket upgrade on its HTTP port). */
export const EXECUTOR_RPC_PATH = "/rpc"

/**
 * The executor asks its caller to answer host call `call` of execution `job` (`op` with `payload`,
 * JSON text, as the script sent them: untrusted). `job` is the executor's own name for the
 * execution, handed only to the connection that started it.
 */
export const HostCallRequest = Schema.TaggedStruct("HostCall", {
  job: Schema.String,
  call: Schema.Int,
  op: Schema.String,
  payload: Schema.String
})
export type HostCallRequest = typeof HostCallRequest.Type

/** The execution ended with a response (the last element of its stream). */
export const Finished = Schema.TaggedStruct("Finished", { response: ExecResponse })
export type Finished = typeof Finished.Type

/** The answer to a host call, as it crosses the process boundary. */
export const HostReplySchema = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), value: Schema.String }),
  Schema.Struct({ ok: Schema.Literal(false), kind: Schema.String, message: Schema.String })
])

/**
 * The executor's RPC protocol (Effect RPC over a WebSocket). `execute` streams the execution's
 * host calls, then its end: a `Finished` element, or the stream fails with the `ExecError`. The
 * caller answers each host call with `answer`, on the same connection; an answer for a job of
 * another connection, or for one that has ended, is ignored.
 */
export class ExecutorRpcs extends RpcGroup.make(
  Rpc.make("execute", {
    payload: ExecRequest,
    success: Schema.Union([HostCallRequest, Finished]),
    error: ExecError,
    stream: true
  }),
  Rpc.make("answer", {
    payload: { job: Schema.String, call: Schema.Int, reply: HostReplySchema }
  })
) {}
