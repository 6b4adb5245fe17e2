/**
 * Lists in the URL: a page's filters and page number live in its query string, so a filtered,
 * paged list is a link. The admin API answers most listings whole; these pages filter and page
 * them here (the executions and KV listings page by the API's cursor instead).
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

/** The query string of `query` with `name` set to `value` (removed when empty): the same page, one filter changed. */
export const withParam = (path: string, query: URLSearchParams, name: string, value: string | null): string => {
  const params: Record<string, string> = {}
  for (const [key, v] of query) params[key] = v
  if (value === null || value === "") delete params[name]
  else params[name] = value
  // A changed filter starts the list over.
  if (name !== "page") delete params.page
  return withQuery(path, params)
}

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
