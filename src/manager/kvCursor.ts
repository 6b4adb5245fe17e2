import { Effect, Option } from "effect"
import { InvalidCursor } from "../domain/Errors.ts"
import { keyProblem } from "../domain/KvStore.ts"

/** A listing's cursor: the last key of the page, base64url (opaque to callers, so it can change). */
export const encodeKvCursor = (key: string) => Buffer.from(key, "utf8").toString("base64url")

/** The key after which the page starts; `InvalidCursor` for anything this server did not hand out. */
export const kvPageStart = (cursor: string | undefined) => {
  if (cursor === undefined) return Effect.succeed(Option.none<string>())
  const key = Buffer.from(cursor, "base64url").toString("utf8")
  return encodeKvCursor(key) === cursor && keyProblem(key) === undefined
    ? Effect.succeed(Option.some(key))
    : Effect.fail(new InvalidCursor({ cursor }))
}
