/**
 * Lists in the URL: a page's filters and page number live in its query string, so a filtered,
 * paged list is a link. The admin API answers most listings whole; these pages filter and page
 * them here (the executions, dead letters and KV listings page by the API's cursor instead). Pure
 * helpers, tested in test/unit/dashboard/listing.test.ts.
 */

/** How many rows a page of a list shows. */
export const PAGE_SIZE = 25

/** `path` with `params` as its query string, leaving out empty values: `/routes?app=shop`. */
export const withQuery = (path: string, params: Record<string, string | number | null | undefined>): string => {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, String(value))
  }
  const text = query.toString()
  return text ? `${path}?${text}` : path
}

/** Query parameters that hold a place in a list (`?page=`, or the API's `?cursor=`). */
const POSITIONS = ["page", "cursor"]

/**
 * `path` with `query`, `name` set to `value` (removed when empty): the same page, one filter
 * changed. A changed filter starts the list over: the place in it (`page`, `cursor`) is dropped.
 */
export const withParam = (path: string, query: URLSearchParams, name: string, value: string | null): string => {
  const next = new URLSearchParams(query)
  if (value === null || value === "") next.delete(name)
  else next.set(name, value)
  for (const position of POSITIONS) if (position !== name) next.delete(position)
  const text = next.toString()
  return text ? `${path}?${text}` : path
}

/** The values of `names` in the query ("" for an absent one). */
export const filtersOf = <const N extends string>(query: URLSearchParams, names: ReadonlyArray<N>) =>
  Object.fromEntries(names.map((name) => [name, query.get(name) ?? ""])) as Record<N, string>

/** An API query string from filters: the non-empty ones, and `extra` (a limit, a cursor). */
export const apiQuery = (filters: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>> = {}) =>
  withQuery("", { ...filters, ...extra }).slice(1)

/** The items any of whose `fields` contain `text` (case-insensitively); all of them for an empty text. */
export const filterText = <A>(items: ReadonlyArray<A>, text: string, fields: (item: A) => ReadonlyArray<string>) => {
  const needle = text.trim().toLowerCase()
  if (needle === "") return items
  return items.filter((item) => fields(item).some((field) => field.toLowerCase().includes(needle)))
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** 1-based, clamped to the pages there are. */
  readonly page: number
  readonly pages: number
  readonly total: number
}

/** `?page=` as a page number: 1 for anything that is not a positive integer. */
export const pageParam = (value: string | null): number => {
  const page = Number(value)
  return Number.isSafeInteger(page) && page >= 1 ? page : 1
}

/** The `page`th page (1-based) of `items`, `size` a page; a page past the end is the last one. */
export const paginate = <A>(items: ReadonlyArray<A>, page: number, size = PAGE_SIZE): Page<A> => {
  const pages = Math.max(1, Math.ceil(items.length / size))
  const current = Math.min(Math.max(1, Math.trunc(page)), pages)
  return { items: items.slice((current - 1) * size, current * size), page: current, pages, total: items.length }
}

/** How an execution can end, as a filter offers it: `[value, text]`. */
export const EXECUTION_STATUSES: ReadonlyArray<readonly [string, string]> = [
  "succeeded",
  "failed",
  "dead_lettered",
  "depth_exceeded"
].map((status) => [status, status.replaceAll("_", " ")])
