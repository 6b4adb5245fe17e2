import { Effect, Option } from "effect"
import { InvalidCursor } from "../domain/Errors.ts"
import { keyProblem, type KvItem, type KvPage, utf8Bytes } from "../domain/KvStore.ts"

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

/**
 * The values of one page, as JSON, add up to at most this (a page always holds at least one item):
 * 100 values at the 256 KiB value limit would make a 25 MiB answer.
 */
export const KV_PAGE_BYTES = 1024 * 1024

/**
 * A page from the rows that follow the cursor (`limit + 1` of them, so whether more follow is known):
 * at most `limit` items, fewer once their values pass `pageBytes`; the cursor continues after the
 * last item given, or is `null` when nothing follows.
 */
export const kvPage = (rows: ReadonlyArray<KvItem>, limit: number, pageBytes = KV_PAGE_BYTES): KvPage => {
  const items: Array<KvItem> = []
  let bytes = 0
  for (const row of rows) {
    if (items.length === limit) break
    const size = utf8Bytes(JSON.stringify(row.value))
    if (items.length > 0 && bytes + size > pageBytes) break
    items.push(row)
    bytes += size
  }
  const last = items.at(-1)
  return { items, cursor: last !== undefined && items.length < rows.length ? encodeKvCursor(last.key) : null }
}
