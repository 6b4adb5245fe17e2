import { Actions } from "./action.svelte.ts"
import { api, messageOf } from "./api.ts"
import { withQuery } from "./listing.ts"

/**
 * What a page lists of one app (`GET path?app=`), or of every app the user sees when `app()` is
 * empty, as the admin API answers it: whole (the page filters and pages it). Its `actions` reload
 * it after each action; a failed load shows as their error.
 */
export class AppListing<A> {
  /** `null` while the first load is on its way. */
  items = $state<ReadonlyArray<A> | null>(null)
  /** When it was last loaded (ms since the epoch): what "in 3 min" is counted from. */
  loadedAt = $state(Date.now())
  readonly actions: Actions

  constructor(
    private readonly path: string,
    private readonly app: () => string
  ) {
    this.actions = new Actions(() => this.load())
  }

  load = async () => {
    try {
      this.items = (await api<{ items: ReadonlyArray<A> }>("GET", withQuery(this.path, { app: this.app() }))).items
      this.loadedAt = Date.now()
    } catch (failure) {
      this.items = []
      this.actions.error = messageOf(failure)
    }
  }

  /** Loads it afresh (another app was chosen): "Loading…" until it is in. */
  reload = () => {
    this.items = null
    this.actions.error = null
    return this.load()
  }
}
