import { assert, describe, it } from "vitest"
import {
  hashPassword,
  matchesSecret,
  newToken,
  tokenDigest,
  verifyPassword
} from "../../../src/manager/passwordsAndTokens.ts"

describe("secrets", () => {
  it("passwords: salted scrypt hashes that verify only the right password", async () => {
    const hash = await hashPassword("correct horse battery staple")
    assert.match(hash, /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/)
    assert.notInclude(hash, "correct horse")
    assert.notStrictEqual(await hashPassword("correct horse battery staple"), hash, "a fresh salt each time")
    assert.isTrue(await verifyPassword("correct horse battery staple", hash))
    assert.isFalse(await verifyPassword("correct horse battery stapler", hash))
    assert.isFalse(await verifyPassword("anything", "not-a-hash"))
  })

  it("tokens: random, prefixed, stored as a SHA-256 digest", () => {
    const a = newToken()
    assert.match(a, /^pc_[\w-]{43}$/)
    assert.notStrictEqual(newToken(), a)
    assert.match(tokenDigest(a), /^[0-9a-f]{64}$/)
    assert.strictEqual(tokenDigest(a), tokenDigest(a))
  })

  it("matchesSecret compares any lengths without throwing", () => {
    assert.isTrue(matchesSecret("abc")("abc"))
    assert.isFalse(matchesSecret("abc")("abcd"))
    assert.isFalse(matchesSecret("x")(""))
  })
})
