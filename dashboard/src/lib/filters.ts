/**
 * A list page's filters live in its URL (`/executions?app=shop&status=failed`), so a filtered list
 * is a link. Pure helpers, tested in test/unit/dashboard/filters.test.ts.
 */

/** The query with `name` set to `value` (removed when empty), as `?a=1` or "" when nothing is left. */
export const withFilter = (query: URLSearchParams, name: string, value: string): string => {
  const next = new URLSearchParams(query)
  if (value === "") next.delete(name)
  else next.set(name, value)
  // A page position belongs to the filters it was found with.
  next.delete("cursor")
  const text = next.toString()
  return text === "" ? "" : "?" + text
}

/** The values of `names` in the query ("" for an absent one). */
export const filtersOf = <const N extends string>(query: URLSearchParams, names: ReadonlyArray<N>) =>
  Object.fromEntries(names.map((name) => [name, query.get(name) ?? ""])) as Record<N, string>

/** An API query string from filters: the non-empty ones, and `extra` (a limit, a cursor). */
export const apiQuery = (filters: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>> = {}) => {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries({ ...filters, ...extra })) if (value !== "") query.set(name, value)
  return query.toString()
}
