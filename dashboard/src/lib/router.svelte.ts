/** The dashboard's pages live under /dashboard/ with history URLs; the server answers any of them with index.html. */
export const BASE = "/dashboard"

const current = () => {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "/"
  return { path: path === "" ? "/" : path, query: new URLSearchParams(location.search) }
}

export const route = $state(current())

const update = () => {
  const next = current()
  route.path = next.path
  route.query = next.query
}

/** Goes to a dashboard path (`/scripts/abc?x=1`), adding a history entry unless `replace`. */
export const navigate = (to: string, replace = false) => {
  if (replace) history.replaceState(null, "", BASE + to)
  else history.pushState(null, "", BASE + to)
  update()
  window.scrollTo(0, 0)
}

/** Same-origin links to /dashboard/… are followed without reloading the page. */
export const startRouter = () => {
  window.addEventListener("popstate", update)
  document.addEventListener("click", (event) => {
    if (
      event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey
    ) {
      return
    }
    const anchor = (event.target as Element | null)?.closest?.("a")
    if (!anchor || anchor.target || anchor.origin !== location.origin) return
    if (anchor.pathname !== BASE && !anchor.pathname.startsWith(BASE + "/")) return
    event.preventDefault()
    navigate(anchor.pathname.slice(BASE.length) + anchor.search)
  })
}

/** `/scripts/:id` against `/scripts/42` → `{ id: "42" }`; undefined when it does not match. */
export const match = (pattern: string, path: string): Record<string, string> | undefined => {
  const want = pattern.split("/")
  const got = path.split("/")
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(got[i]!)
    else if (w !== got[i]) return undefined
  }
  return params
}
