import { Deferred, Effect, Layer, Option, Queue, Redacted, Stream } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { RpcSerialization, RpcServer } from "effect/rpc"
import { randomUUID } from "node:crypto"
import * as Settings from "../config/Settings.ts"
import { bearerToken } from "../domain/api/credentials.ts"
import type { ExecError, ExecRequest } from "../domain/Exec.ts"
import { Executor } from "../domain/Executor.ts"
import { HostCallFailed, type HostCalls, type HostReply } from "../domain/HostCall.ts"
import { matchesSecret } from "../manager/passwordsAndTokens.ts"
import { errorResponse } from "../orchestrator/http/errorResponse.ts"
import { EXECUTOR_RPC_PATH, ExecutorRpcs, type Finished, type HostCallRequest } from "./ExecutorRpc.ts"

/** One execution in flight: the connection that started it, and its host calls awaiting answers. */
interface Job {
  readonly client: number
  readonly calls: Map<number, Deferred.Deferred<HostReply>>
}

/** What a host call sees when its caller is gone before answering. */
const CALLER_GONE: HostReply = { ok: false, kind: "Error", message: "the orchestrator went away" }

/**
 * The handlers of `ExecutorRpcs` on this process's `Executor`. Each execution's host calls are
 * sent back on its own stream and wait for the answer that names its job; a job is known only to
 * the connection that started it, so no caller can answer (or read) another's calls. When the
 * caller disconnects, its executions' streams end and their waiting host calls fail.
 */
export const handlers = ExecutorRpcs.toLayer(Effect.gen(function*() {
  const executor = yield* Executor
  const jobs = new Map<string, Job>()

  const execute = (request: ExecRequest, { client }: { readonly client: { readonly id: number } }) =>
    Stream.callback<HostCallRequest | Finished, ExecError>((queue) =>
      Effect.gen(function*() {
        const job = randomUUID()
        const calls = new Map<number, Deferred.Deferred<HostReply>>()
        jobs.set(job, { client: client.id, calls })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            jobs.delete(job)
            for (const waiting of calls.values()) Deferred.doneUnsafe(waiting, Effect.succeed(CALLER_GONE))
            calls.clear()
          })
        )
        let next = 1
        const host: HostCalls = (op, payload) =>
          Effect.suspend(() => {
            const call = next++
            const answer = Deferred.makeUnsafe<HostReply>()
            calls.set(call, answer)
            Queue.offerUnsafe(queue, { _tag: "HostCall", job, call, op, payload })
            return Deferred.await(answer)
          }).pipe(
            Effect.flatMap((reply) =>
              reply.ok
                ? Effect.succeed(reply.value)
                : Effect.fail(new HostCallFailed({ kind: reply.kind, message: reply.message }))
            )
          )
        yield* executor.execute(request, host).pipe(
          Effect.matchEffect({
            onSuccess: (response) =>
              Queue.offer(queue, { _tag: "Finished", response }).pipe(Effect.andThen(Queue.end(queue))),
            onFailure: (error) => Queue.fail(queue, error)
          }),
          Effect.forkScoped
        )
      })
    )

  const answer = (
    { call, job, reply }: { readonly job: string; readonly call: number; readonly reply: HostReply },
    { client }: { readonly client: { readonly id: number } }
  ) =>
    Effect.sync(() => {
      const found = jobs.get(job)
      if (found === undefined || found.client !== client.id) return
      const waiting = found.calls.get(call)
      if (waiting === undefined) return
      found.calls.delete(call)
      Deferred.doneUnsafe(waiting, Effect.succeed(reply))
    })

  return ExecutorRpcs.of({ execute, answer })
}))

/**
 * The WebSocket protocol at `EXECUTOR_RPC_PATH`. With `PICLOUD_EXECUTOR_TOKEN` set, an upgrade
 * without it as its bearer token is refused (401) before any RPC is read.
 */
const protocol = Layer.effect(
  RpcServer.Protocol,
  Effect.gen(function*() {
    const { httpEffect, protocol } = yield* RpcServer.makeProtocolWithHttpEffectWebsocket
    const token = yield* Settings.executorToken.config
    const router = yield* HttpRouter.HttpRouter
    const authorized = Option.match(token, {
      onNone: () => () => true,
      onSome: (token) => {
        const matches = matchesSecret(Redacted.value(token))
        return (authorization: string | undefined) => matches(bearerToken(authorization))
      }
    })
    yield* router.add(
      "GET",
      EXECUTOR_RPC_PATH,
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (!authorized(request.headers.authorization)) {
          return errorResponse(401, { code: "unauthorized", message: "missing or wrong executor token" })
        }
        return yield* httpEffect
      })
    )
    // No acknowledgements: a stream's chunk, then its end, go out at once (no round trip between
    // them). The streams here are short and their host calls wait for answers anyway.
    return RpcServer.Protocol.of({ ...protocol, supportsAck: false })
  })
)

/**
 * The executor's RPC server as routes of an `HttpRouter`: `ExecutorRpcs` over a WebSocket at
 * `EXECUTOR_RPC_PATH`, JSON-encoded, answered by this process's `Executor`.
 */
export const layer = RpcServer.layer(ExecutorRpcs, { disableTracing: true }).pipe(
  Layer.provide(handlers),
  Layer.provide(protocol),
  Layer.provide(RpcSerialization.layerJson)
)
