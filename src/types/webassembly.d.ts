// Node has WebAssembly, but TypeScript declares it only in the DOM libs. The sandbox needs just
// this much (to compile QuickJS once and instantiate it per sandbox with a capped memory), so
// declare that rather than pull in DOM.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number
    maximum?: number
    shared?: boolean
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor)
    readonly buffer: ArrayBuffer
    grow(delta: number): number
  }
  type Imports = Record<string, Record<string, unknown>>
  type Exports = Record<string, unknown>
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer)
  }
  class Instance {
    constructor(module: Module, imports?: Imports)
    readonly exports: Exports
  }
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>
}
