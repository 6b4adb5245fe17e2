import { NodeRuntime } from "@effect/platform-node"
import { Cause, Exit, Layer } from "effect"
import { AllInOne } from "./AllInOne.ts"
import { ExecutorServer } from "./ExecutorServer.ts"
import * as Logging from "./Logging.ts"
import { Manager } from "./Manager.ts"
import { Orchestrator } from "./Orchestrator.ts"

/** What `node src/runtime/main.ts [role]` runs: all-in-one with no role, else one process of a cluster. */
const roles: Record<string, Layer.Layer<never, unknown>> = {
  manager: Manager,
  orchestrator: Orchestrator,
  executor: ExecutorServer
}

const role = process.argv[2]
const chosen: Layer.Layer<never, unknown> | undefined = role === undefined
  ? AllInOne
  : Object.hasOwn(roles, role)
  ? roles[role]
  : undefined

if (chosen === undefined) {
  process.stderr.write(
    `picloud: unknown role ${JSON.stringify(role)}; expected one of ${Object.keys(roles).join(", ")}, ` +
      `or none for all-in-one\n`
  )
  process.exit(2)
}

/** SIGTERM/SIGINT drain and stop cleanly, exit code 0; a failure to start exits 1. */
Layer.launch(chosen.pipe(Layer.provide(Logging.layer))).pipe(
  NodeRuntime.runMain({
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
  })
)
