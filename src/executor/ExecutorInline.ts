import { type Config, Context, Effect, Layer } from "effect"
import type { ExecRequest } from "../domain/Exec.ts"
import { Executor, ScriptValidator } from "../domain/Executor.ts"
import type { HostCalls } from "../domain/HostCall.ts"
import { Engine } from "./Engine.ts"
import { engineLimitsConfig } from "./EngineConfig.ts"
import { fromEngineResult, fromValidationResult, hostHandler } from "./engineResult.ts"

/** On the main thread a guest stack above ~384 KiB overflows the host's own stack. */
const MAIN_THREAD_STACK_BYTES = 256 * 1024

/**
 * The sandbox on the calling thread: an execution blocks the event loop while it runs, so this is
 * for tests and tools. Servers use `layerWorkers`.
 */
export const layer: Layer.Layer<Executor | ScriptValidator, Config.ConfigError> = Layer.effectContext(
  Effect.gen(function*() {
    const limits = yield* engineLimitsConfig(MAIN_THREAD_STACK_BYTES)
    const engine = yield* Effect.promise(() => Engine.make(limits))
    const context = yield* Effect.context<never>()
    // Untraced: it runs on every request of the data plane, where a span per call is measurable cost.
    const execute = Effect.fnUntraced(function*(request: ExecRequest, host?: HostCalls) {
      return yield* fromEngineResult(yield* Effect.promise(() => engine.run(request, hostHandler(host, context))))
    })
    const validate = Effect.fn("ScriptValidator.validate")(function*(source: string) {
      return yield* fromValidationResult(yield* Effect.promise(() => engine.validate(source)))
    })
    return Context.make(Executor, Executor.of({ execute })).pipe(
      Context.add(ScriptValidator, ScriptValidator.of({ validate }))
    )
  })
)
