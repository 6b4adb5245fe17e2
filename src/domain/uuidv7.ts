import { randomBytes } from "node:crypto"

let lastMs = 0
let sequence = 0

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
  const bytes = randomBytes(16)
  bytes.writeUIntBE(ms, 0, 6)
  bytes[6] = 0x70 | (sequence >> 8)
  bytes[7] = sequence & 0xff
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
