import { Context, Deferred, Effect, Layer } from "effect"
import { Executor, ScriptValidator } from "../../src/domain/Executor.ts"
import * as ExecutorInline from "../../src/executor/ExecutorInline.ts"

/**
 * The inline executor, except that the script `slow` starts only once `release` is done (and says
 * when it has its permit, by `started`): on the inline executor a script that waits blocks the
 * whole event loop, a permit held this way blocks nothing. For tests of a full gate.
 */
export const holdingSlow = (started: Deferred.Deferred<void>, release: Deferred.Deferred<void>) =>
  Layer.effectContext(Effect.gen(function*() {
    const inline = yield* Executor
    const execute: Executor["Service"]["execute"] = (request, host) =>
      request.script.name === "slow"
        ? Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Deferred.await(release)),
          Effect.andThen(inline.execute(request, host))
        )
        : inline.execute(request, host)
    return Context.make(Executor, Executor.of({ execute })).pipe(
      Context.add(ScriptValidator, yield* ScriptValidator)
    )
  })).pipe(Layer.provide(ExecutorInline.layer))
