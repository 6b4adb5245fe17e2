import { createHash, hash, randomBytes, scrypt, timingSafeEqual } from "node:crypto"

/** A new API token: shown to its owner once; only its digest is stored. */
export const newToken = () => `pc_${randomBytes(32).toString("base64url")}`

/**
 * What is stored of a token, and what a presented token is looked up by. (The one-shot `hash` is
 * several times cheaper than `createHash` for a short input; the data plane digests every token.)
 */
export const tokenDigest = (token: string) => hash("sha256", token, "hex")

/**
 * A constant-time test for one known secret, whatever the candidate's length. The secret is hashed
 * once, here; each test hashes only the candidate.
 */
export const matchesSecret = (secret: string) => {
  const expected = createHash("sha256").update(secret).digest()
  return (candidate: string) => timingSafeEqual(hash("sha256", candidate, "buffer"), expected)
}

const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 }

const scryptAsync = (password: string, salt: Buffer) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password,
      salt,
      SCRYPT.keyLength,
      { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p },
      (error, key) => (error ? reject(error) : resolve(key))
    )
  )

/** `scrypt$N$r$p$salt$hash` (base64url), so the parameters can be raised later without breaking old hashes. */
export const hashPassword = async (password: string) => {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64url")}$${key.toString("base64url")}`
}

export const verifyPassword = async (password: string, stored: string) => {
  const [scheme, n, r, p, salt, hash] = stored.split("$")
  if (scheme !== "scrypt" || !salt || !hash) return false
  const expected = Buffer.from(hash, "base64url")
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password,
      Buffer.from(salt, "base64url"),
      expected.length,
      { N: Number(n), r: Number(r), p: Number(p) },
      (error, k) => (error ? reject(error) : resolve(k))
    )
  )
  return timingSafeEqual(key, expected)
}
