import { Effect, Option } from "effect"
import { InvalidCursor } from "../domain/Errors.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

/** Where a page of executions ends: the last record's start time and id (the sort key, newest first). */
export interface ExecutionCursor {
  readonly startedAt: string
  readonly id: string
}

export const encodeCursor = (cursor: ExecutionCursor) =>
  Buffer.from(`${cursor.startedAt}|${cursor.id}`).toString("base64url")

/** `None` for anything this server did not hand out. */
export const decodeCursor = (text: string): Option.Option<ExecutionCursor> => {
  const [startedAt, id, ...rest] = Buffer.from(text, "base64url").toString("utf8").split("|")
  if (rest.length > 0 || startedAt === undefined || id === undefined) return Option.none()
  if (Number.isNaN(Date.parse(startedAt)) || !UUID_PATTERN.test(id)) return Option.none()
  return Option.some({ startedAt, id })
}

/** Where the page asked for starts: after `cursor`, or at the newest when there is none. */
export const pageStart = (cursor: string | undefined) => {
  if (cursor === undefined) return Effect.succeed(Option.none<ExecutionCursor>())
  const decoded = decodeCursor(cursor)
  return Option.isNone(decoded) ? Effect.fail(new InvalidCursor({ cursor })) : Effect.succeed(decoded)
}

/** Newest first: later start, then larger id (UUIDv7 ids grow with time). */
export const compareNewestFirst = (a: ExecutionCursor, b: ExecutionCursor) =>
  a.startedAt === b.startedAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.startedAt < b.startedAt ? 1 : -1
