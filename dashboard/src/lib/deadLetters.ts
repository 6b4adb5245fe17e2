/**
 * The dead-letters pages' logic, without a browser (test/unit/dashboard/deadLetters.test.ts).
 */
import type { BulkReplayResult, DeadLetter } from "./types.ts"

/** The listing's filters, as the URL and `GET /api/admin/dead-letters` take them. */
export const DEAD_LETTER_FILTERS = ["app", "script", "resolution"] as const

/** The handler states a listing filters by, with what the page calls them. */
export const RESOLUTIONS: ReadonlyArray<readonly [string, string]> = [
  ["none", "no handler"],
  ["pending", "handler pending"],
  ["handled", "handled"],
  ["handler_failed", "handler failed"]
]

/** A dead letter's handler state in words. */
export const resolutionText = (resolution: DeadLetter["resolution"]) =>
  RESOLUTIONS.find(([value]) => value === (resolution ?? "none"))?.[1] ?? String(resolution)

/** What started the dead execution: `POST /orders/42`, `kv set orders/1`, `schedule nightly`. */
export const originOf = (letter: Pick<DeadLetter, "invocation" | "request" | "event">): string => {
  if (letter.request !== null) return `${letter.request.method} ${letter.request.path}`
  const event = letter.event as Record<string, unknown> | null
  if (event !== null && typeof event === "object") {
    if (typeof event.key === "string") return `kv ${String(event.op ?? "write")} ${event.key}`
    if (typeof event.schedule_id === "string") return `schedule ${String(event.name ?? event.schedule_id)}`
  }
  return letter.invocation
}

/** The selection with `id` added, or removed when it was in it. */
export const toggled = (selected: ReadonlySet<string>, id: string): ReadonlySet<string> => {
  const next = new Set(selected)
  if (!next.delete(id)) next.add(id)
  return next
}

/** Whether every shown item is selected (and there is at least one). */
export const allSelected = (items: ReadonlyArray<{ readonly id: string }>, selected: ReadonlySet<string>) =>
  items.length > 0 && items.every((item) => selected.has(item.id))

/** "Select all" on the shown items: all of them, or none when all were. */
export const toggledAll = (items: ReadonlyArray<{ readonly id: string }>, selected: ReadonlySet<string>) =>
  allSelected(items, selected) ? new Set<string>() : new Set(items.map((item) => item.id))

/** The most one bulk replay takes (the API's `MAX_BULK_REPLAY`): a larger selection goes in batches. */
export const BULK_LIMIT = 100

/** The ids in batches the API takes. */
export const batches = (ids: ReadonlyArray<string>, size = BULK_LIMIT): ReadonlyArray<ReadonlyArray<string>> =>
  Array.from({ length: Math.ceil(ids.length / size) }, (_, i) => ids.slice(i * size, (i + 1) * size))

/** A bulk replay's outcome in one line: "2 replayed; 1 not found (gone, or not yours)". */
export const replaySummary = (results: ReadonlyArray<BulkReplayResult>) => {
  const replayed = results.filter((r) => r.outcome === "accepted").length
  const missing = results.length - replayed
  return `${replayed} replayed` + (missing === 0 ? "." : `; ${missing} not found (gone, or not yours).`)
}
