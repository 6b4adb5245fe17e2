import { Config, Context, Effect, Layer } from "effect"
import * as Settings from "../config/Settings.ts"
import type { ExecRequest } from "../domain/Exec.ts"
import { Executor, ScriptValidator } from "../domain/Executor.ts"
import type { HostCalls } from "../domain/HostCall.ts"
import { engineLimitsConfig } from "./EngineConfig.ts"
import { fromEngineResult, fromValidationResult, hostHandler } from "./engineResult.ts"
import { WorkerPool } from "./WorkerPool.ts"

/** Inside a worker with an 8 MiB thread stack, a 1 MiB guest stack is safe (~5,000 frames). */
const WORKER_STACK_MB = 8
const GUEST_STACK_BYTES = 1024 * 1024

/** The pool itself, for tests that need to look inside (load, replaced workers). */
export class ExecutorPool extends Context.Service<ExecutorPool, WorkerPool>()("picloud/executor/ExecutorPool") {}

/** A pool of `threads` worker threads, each with its own engine. */
const make = (threads: Config.Config<number>) =>
  Layer.effectContext(
    Effect.gen(function*() {
      const limits = yield* engineLimitsConfig(GUEST_STACK_BYTES)
      const size = yield* threads
      const context = yield* Effect.context<never>()
      const pool = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const pool = new WorkerPool({
            size,
            limits,
            stackSizeMb: WORKER_STACK_MB,
            onEvent: (message) => Effect.runForkWith(context)(Effect.logWarning(message))
          })
          await pool.start()
          return pool
        }),
        (pool) => Effect.promise(() => pool.close())
      )
      yield* Effect.logInfo(`executor: ${pool.load.length} worker thread(s)`)
      // Untraced: it runs on every request of the data plane, where a span per call is measurable cost.
      const execute = Effect.fnUntraced(function*(request: ExecRequest, host?: HostCalls) {
        return yield* fromEngineResult(yield* Effect.promise(() => pool.run(request, hostHandler(host, context))))
      })
      const validate = Effect.fn("ScriptValidator.validate")(function*(source: string) {
        return yield* fromValidationResult(yield* Effect.promise(() => pool.validate(source)))
      })
      return Context.make(Executor, Executor.of({ execute })).pipe(
        Context.add(ScriptValidator, ScriptValidator.of({ validate })),
        Context.add(ExecutorPool, pool)
      )
    })
  )

/**
 * The sandbox in a pool of worker threads (`PICLOUD_EXECUTOR_THREADS`, default: the available
 * cores), so executions never block the event loop and a fault kills a worker, never the server.
 */
export const layer: Layer.Layer<Executor | ScriptValidator | ExecutorPool, Config.ConfigError> = make(
  Settings.executorThreads.config
)

/**
 * One worker thread: for the cluster's manager, which serves no script endpoint but checks uploaded
 * scripts and runs the dashboard's test runs (`POST /api/admin/scripts/{id}/test-run`).
 */
export const layerManager: Layer.Layer<Executor | ScriptValidator | ExecutorPool, Config.ConfigError> = make(
  Config.succeed(1)
)
