import releaseSync from "@jitl/quickjs-wasmfile-release-sync"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSSyncVariant,
  type QuickJSWASMModule
} from "quickjs-emscripten-core"

// The package's types describe its CommonJS build (a namespace holding `default`); Node's ESM loader
// hands us the variant itself.
const RELEASE_SYNC: QuickJSSyncVariant = (releaseSync as { default?: QuickJSSyncVariant }).default ??
  (releaseSync as unknown as QuickJSSyncVariant)

const PAGE_BYTES = 65536
/** The build declares its memory import with at least 256 pages: a smaller memory does not link. */
export const MIN_MEMORY_MB = 16

const pages = (mb: number) => Math.ceil((mb * 1024 * 1024) / PAGE_BYTES)

/** The QuickJS WebAssembly code, compiled once per thread; every sandbox instantiates it anew. */
export const compileQuickJS = async (): Promise<WebAssembly.Module> => {
  const path = createRequire(import.meta.url).resolve("@jitl/quickjs-wasmfile-release-sync/wasm")
  return WebAssembly.compile(await readFile(path))
}

/** One instance of QuickJS: its own heap in its own `WebAssembly.Memory`, gone with it when dropped. */
export interface QuickJSInstance {
  readonly quickjs: QuickJSWASMModule
  readonly memory: WebAssembly.Memory
  /** The memory's cap: it grows up to this and never shrinks. */
  readonly maxBytes: number
}

/**
 * Instantiates the compiled code with a memory of its own, capped at `memoryMb` (at least
 * `MIN_MEMORY_MB`; `rt.setMemoryLimit` alone does not hold in this build). The memory starts at the
 * smallest size the build accepts; pages never touched cost address space, not RSS. Instantiating
 * synchronously inside Emscripten's hook makes a failure reject the returned promise (the package's
 * own `wasmModule` option instantiates asynchronously and leaves the promise pending on a failure).
 */
export const instantiateQuickJS = async (code: WebAssembly.Module, memoryMb: number): Promise<QuickJSInstance> => {
  const maxPages = pages(memoryMb)
  const memory = new WebAssembly.Memory({ initial: pages(MIN_MEMORY_MB), maximum: maxPages })
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, {
    wasmMemory: memory,
    emscriptenModule: {
      instantiateWasm(imports, onSuccess) {
        const instance = new WebAssembly.Instance(code, imports)
        onSuccess(instance)
        return instance.exports
      }
    }
  }))
  return { quickjs, memory, maxBytes: maxPages * PAGE_BYTES }
}
