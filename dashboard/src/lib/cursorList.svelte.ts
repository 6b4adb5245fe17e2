import { api, messageOf } from "./api.ts"
import { apiQuery } from "./listing.ts"

/** How many items a page of a cursor-paged list asks the API for. */
export const CURSOR_PAGE = 50

/**
 * A list the admin API pages by cursor (`{items, next_cursor}`), newest first: `load(null)` gets
 * the first page with `filters`, `load(next)` adds the next one below ("Load more").
 */
export class CursorList<A> {
  items = $state<ReadonlyArray<A> | null>(null)
  next = $state<string | null>(null)
  error = $state<string | null>(null)

  constructor(
    private readonly path: string,
    private readonly filters: () => Readonly<Record<string, string>>
  ) {}

  load = async (cursor: string | null) => {
    this.error = null
    try {
      const page = await api<{ items: ReadonlyArray<A>; next_cursor: string | null }>(
        "GET",
        this.path + "?" + apiQuery(this.filters(), { limit: String(CURSOR_PAGE), cursor: cursor ?? "" })
      )
      this.items = cursor ? [...(this.items ?? []), ...page.items] : page.items
      this.next = page.next_cursor
    } catch (failure) {
      this.error = messageOf(failure)
    }
  }
}
