import { NodeRuntime } from "@effect/platform-node"
import { Cause, Exit, Layer } from "effect"
import { AllInOne } from "./AllInOne.ts"
import * as Logging from "./Logging.ts"

/** `npm start`: the all-in-one process. SIGTERM/SIGINT drain and stop cleanly, exit code 0. */
Layer.launch(AllInOne.pipe(Layer.provide(Logging.layer))).pipe(
  NodeRuntime.runMain({
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
  })
)
