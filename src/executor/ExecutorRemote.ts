import { NodeSocket } from "@effect/platform-node"
import { type Config, Context, Effect, Layer, Option, Redacted, Ref, Schedule, Stream } from "effect"
import { RpcClient, RpcSerialization } from "effect/rpc"
import * as Settings from "../config/Settings.ts"
import { ExecError, type ExecRequest, type ExecResponse } from "../domain/Exec.ts"
import { Executor } from "../domain/Executor.ts"
import { type HostCalls, type HostReply, noHostCalls } from "../domain/HostCall.ts"
import { EXECUTOR_RPC_PATH, ExecutorRpcs, type HostCallRequest } from "./ExecutorRpc.ts"

/** After the executor's connection drops, how often it is dialled again. */
const RECONNECT_EVERY = "500 millis"
/** A silent connection (no frame, not even a pong, this long) is taken as dead. */
const PING_EVERY = "2 seconds"

/**
 * The WebSocket address of an executor given as `http(s)://host:port` or `ws(s)://host:port`, at
 * the RPC path unless a path is given.
 */
export const rpcUrl = (url: string): string => {
  const parsed = new URL(url.replace(/^http/, "ws"))
  if (parsed.pathname === "/" || parsed.pathname === "") parsed.pathname = EXECUTOR_RPC_PATH
  return parsed.toString()
}

/**
 * Whether the node's executor is connected now (`/health` answers 503 while it is not, so a load
 * balancer skips a node that could only answer `executor_crashed`).
 */
export class ExecutorConnection extends Context.Service<ExecutorConnection, {
  readonly connected: Effect.Effect<boolean>
}>()("picloud/executor/ExecutorConnection") {}

/** An execution the executor could not finish because the connection to it failed. */
const crashed = (message: string) =>
  new ExecError({ reason: "Crashed", message, logs: [], logsTruncated: false, durationMs: 0 })

/**
 * `Executor` in another process (`picloud executor`), reached by Effect RPC over a WebSocket at
 * `PICLOUD_EXECUTOR_URL`. Each execution is one streaming call: the executor streams the script's
 * host calls back, answered here with the caller's own `host` (so `kv.*` runs in this process, on
 * this process's session), then the result. When the connection drops, the executions in flight
 * fail as `Crashed` (`executor_crashed`, 500), new ones fail at once, and the connection is dialled
 * again every 500 ms until the executor is back. Answers are given on the same connection, for the
 * job the executor named: the executor ignores an answer to another connection's job.
 */
export const layerRemote: Layer.Layer<Executor | ExecutorConnection, Config.ConfigError> = Layer.unwrap(
  Effect.gen(function*() {
    const url = rpcUrl(yield* Settings.executorUrl.config)
    const token = yield* Settings.executorToken.config
    const connected = yield* Ref.make(false)
    const hooks = Layer.succeed(RpcClient.ConnectionHooks, {
      onConnect: Ref.set(connected, true).pipe(Effect.andThen(Effect.logInfo(`executor: connected to ${url}`))),
      onDisconnect: Ref.getAndSet(connected, false).pipe(
        Effect.flatMap((was) =>
          was ? Effect.logWarning(`executor: lost the connection to ${url}; dialling again`) : Effect.void
        )
      )
    })
    const client = Layer.effect(
      Executor,
      Effect.gen(function*() {
        // No span per call: it runs on every request of the data plane.
        const rpc = yield* RpcClient.make(ExecutorRpcs, { disableTracing: true })
        yield* Effect.logInfo(`executor: remote, at ${url}`)

        const answer = (call: HostCallRequest, host: HostCalls | undefined) =>
          (host === undefined
            ? Effect.promise(() => noHostCalls(call.op, call.payload))
            : host(call.op, call.payload).pipe(
              Effect.match({
                onSuccess: (value): HostReply => ({ ok: true, value }),
                onFailure: (error): HostReply => ({ ok: false, kind: error.kind, message: error.message })
              }),
              // A defect still gets an answer (as in process): the script must not wait for ever.
              Effect.catchDefect(() =>
                Effect.succeed<HostReply>({ ok: false, kind: "Error", message: `${call.op} failed` })
              )
            )).pipe(
              Effect.flatMap((reply) => rpc.answer({ job: call.job, call: call.call, reply })),
              // The stream fails on its own if the connection has gone: nothing to add here.
              Effect.ignore
            )

        // Untraced: it runs on every request of the data plane, where a span per call is measurable cost.
        const execute = Effect.fnUntraced(function*(request: ExecRequest, host?: HostCalls) {
          let response: ExecResponse | undefined
          yield* rpc.execute(request).pipe(
            Stream.runForEach((event) => {
              if (event._tag === "Finished") {
                response = event.response
                return Effect.void
              }
              return Effect.forkScoped(answer(event, host))
            }),
            Effect.scoped,
            Effect.catch((error) =>
              error._tag === "ExecError"
                ? Effect.fail(error)
                : Effect.fail(crashed(`the executor could not be reached: ${error.reason.message}`))
            )
          )
          if (response === undefined) return yield* crashed("the executor ended the execution without a result")
          return response
        })
        return Executor.of({ execute })
      })
    )
    return Layer.merge(client, Layer.succeed(ExecutorConnection, { connected: Ref.get(connected) })).pipe(
      Layer.provide(Layer.effect(
        RpcClient.Protocol,
        RpcClient.makeProtocolSocket({ retryPolicy: Schedule.spaced(RECONNECT_EVERY), pingInterval: PING_EVERY }).pipe(
          // No acknowledgements (the executor waits for none): one frame fewer per chunk.
          Effect.map((protocol) => RpcClient.Protocol.of({ ...protocol, supportsAck: false }))
        )
      )),
      Layer.provide([
        NodeSocket.layerWebSocket(
          url,
          Option.isSome(token) ? { headers: { authorization: `Bearer ${Redacted.value(token.value)}` } } : {}
        ),
        hooks
      ]),
      Layer.provide(RpcSerialization.layerJson)
    )
  })
)
