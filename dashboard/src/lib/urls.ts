/** Links out of the dashboard: where a route answers, and the API paths the pages call. */

/**
 * The full URL a route answers at: `/{app}{path}` on this origin, its `:params` and `*rest` shown
 * as they are written (the caller fills them in). `path` is `/` or starts with `/`.
 */
export const routeUrl = (origin: string, appName: string, path: string): string =>
  `${origin.replace(/\/+$/, "")}/${encodeURIComponent(appName)}${path === "/" ? "/" : path}`

/** `/apps/{app}/kv/{key}`: the key as one path segment (a `/` in it escaped). */
export const kvPath = (app: string, key: string): string =>
  `/apps/${encodeURIComponent(app)}/kv/${encodeURIComponent(key)}`
