/**
 * The young generation's semi-space, in MiB, of every V8 heap in the process. V8 sizes it from the
 * machine's memory otherwise: on the development machine the main thread's young generation held
 * 67 MB at rest and 110 MB under load, for no measurable gain in throughput over 8 MiB (README,
 * Performance). Worker threads get the same through their resource limits (`WorkerPool`).
 */
export const SEMI_SPACE_MB = 8

/**
 * The flags `npm start` runs the server with (package.json's `start`, kept equal by a test); the
 * end-to-end tests and the benchmarks start it the same way. Start it with them when not through
 * `npm start`. `--expose-gc` lets a sandbox thread collect right after it dropped a big sandbox
 * (`Engine.reclaimSoon`): five memory bombs otherwise left ~50 MB resident until some later
 * collection. Scripts run in QuickJS, so no script can reach `gc`.
 */
export const NODE_FLAGS: ReadonlyArray<string> = [`--max-semi-space-size=${SEMI_SPACE_MB}`, "--expose-gc"]
