/**
 * The live tail page's logic, without a browser (test/unit/dashboard/tail.test.ts): the stream's
 * URL from the page's filters, the bounded list of the latest records, and what to say about the
 * connection.
 */
import { apiQuery } from "./listing.ts"

/** The filters the stream takes (`GET /api/admin/executions/stream`). */
export const TAIL_FILTERS = ["app", "script", "status"] as const

/** How many records the page keeps; older ones fall off the end. */
export const TAIL_KEEP = 100

/** The stream's URL; with `since`, it first replays what came after that execution (a resume). */
export const streamUrl = (filters: Readonly<Record<string, string>>, since?: string | null) => {
  const picked = Object.fromEntries(TAIL_FILTERS.map((name) => [name, filters[name] ?? ""]))
  const query = apiQuery(picked, { since: since ?? "" })
  return "/api/admin/executions/stream" + (query === "" ? "" : "?" + query)
}

/** The list with `record` first; one already in it is not added twice; at most `keep` long. */
export const addRecent = <A extends { readonly id: string }>(
  list: ReadonlyArray<A>,
  record: A,
  keep = TAIL_KEEP
): ReadonlyArray<A> => (list.some((item) => item.id === record.id) ? list : [record, ...list].slice(0, keep))

/**
 * The connection as the page shows it. `reconnecting`: the stream dropped and EventSource is
 * trying again by itself (with Last-Event-ID, so nothing is missed); `closed`: the server refused
 * it (EventSource gives up on any answer but a 200 stream); `paused`: the user stopped it.
 */
export type TailState = "connecting" | "live" | "reconnecting" | "paused" | "closed"

/** EventSource's `readyState` after an `error` event: 0 it retries by itself, 2 it gave up. */
export const stateAfterError = (readyState: number): TailState => (readyState === 2 ? "closed" : "reconnecting")

export const STATE_TEXT: Record<TailState, string> = {
  connecting: "Connecting…",
  live: "Live: new executions appear as they finish.",
  reconnecting: "Connection lost; reconnecting…",
  paused: "Paused. Resume to catch up from the last execution shown.",
  closed: "Disconnected."
}

/** What the server's last event before it ends a stream says (`event: dropped` / `shutdown`). */
export const endNote = (reason: string) =>
  reason === "dropped"
    ? "The page fell behind the stream; it reconnects and resumes from the last execution shown."
    : "The server is restarting; the page reconnects when it is back."
