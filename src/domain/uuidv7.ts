import { randomFillSync } from "node:crypto"

let lastMs = 0
let sequence = 0
// Random bytes are drawn from the OS in blocks: one system call per 512 ids, not one per id.
const POOL_SIZE = 4096
const pool = Buffer.alloc(POOL_SIZE)
let poolOffset = POOL_SIZE

const randomBytes8 = () => {
  if (poolOffset + 8 > POOL_SIZE) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const offset = poolOffset
  poolOffset += 8
  return offset
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit sequence that counts up
 * within one millisecond, then random bits. Ids made by one process therefore sort in the order
 * they were made, which keeps "newest first" listings stable for executions started in the same ms.
 */
export const uuidv7 = (): string => {
  let ms = Date.now()
  if (ms > lastMs) {
    lastMs = ms
    sequence = 0
  } else {
    sequence++
    if (sequence > 0xfff) {
      lastMs++
      sequence = 0
    }
    ms = lastMs
  }
  const bytes = Buffer.allocUnsafe(16)
  bytes.writeUIntBE(ms, 0, 6)
  bytes[6] = 0x70 | (sequence >> 8)
  bytes[7] = sequence & 0xff
  pool.copy(bytes, 8, randomBytes8(), poolOffset)
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
