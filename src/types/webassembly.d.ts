// Node has WebAssembly, but TypeScript declares it only in the DOM libs. The sandbox needs just the
// memory constructor (to cap a QuickJS module's memory), so declare that much rather than pull in DOM.
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
}
