import { api, messageOf } from "./api.ts"
import type { App, Script } from "./types.ts"

/** The apps the signed-in user sees. */
export const listApps = () => api<{ items: ReadonlyArray<App> }>("GET", "/apps").then((page) => page.items)

/** The scripts the signed-in user sees, of every app. */
export const listScripts = () => api<{ items: ReadonlyArray<Script> }>("GET", "/scripts").then((page) => page.items)

/**
 * The apps and scripts a page names things by (its lists hold ids) and offers in its forms. Until
 * they are loaded (or if they cannot be), names fall back to ids.
 */
export class Catalog {
  apps = $state<ReadonlyArray<App>>([])
  scripts = $state<ReadonlyArray<Script>>([])

  /** Loads both; a failure is passed to `onError` as its message. */
  load = (onError: (message: string) => void = () => {}) =>
    Promise.all([listApps(), listScripts()]).then(([apps, scripts]) => {
      this.apps = apps
      this.scripts = scripts
    }, (failure) => onError(messageOf(failure)))

  /** The name of the app with this id; `fallback` (the id) when it is not known. */
  appName = (id: string, fallback = id) => this.apps.find((a) => a.id === id)?.name ?? fallback
  /** The name of the script with this id; `fallback` (the id) when it is not known. */
  scriptName = (id: string, fallback = id) => this.scripts.find((s) => s.id === id)?.name ?? fallback
  /** The scripts of the app named `app` (or with that id). */
  scriptsOf = (app: string | undefined) => {
    const id = this.apps.find((a) => a.name === app || a.id === app)?.id
    return this.scripts.filter((s) => s.app_id === id)
  }
}
