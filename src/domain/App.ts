import { Schema } from "effect"
import { UUID_PATTERN } from "./Ids.ts"
import { RESERVED_SEGMENTS } from "./Route.ts"
import { StorableText } from "./StorableText.ts"

/** The app every installation has; scripts created without an `app` belong to it. */
export const DEFAULT_APP_ID = "00000000-0000-4000-8000-000000000000"
export const DEFAULT_APP_NAME = "default"

/** App names appear in URLs (`/api/execute/{app}/{name}`), like script names. */
export const AppName = StorableText(64).check(
  Schema.isPattern(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    message: "app name must be 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit"
  }),
  Schema.makeFilter((name: string) => !UUID_PATTERN.test(name) || "app name must not have the shape of a UUID"),
  // Routes live at /{app}/...: an app named like a platform path could never be reached.
  Schema.makeFilter((name: string) => !RESERVED_SEGMENTS.has(name) || `'${name}' is reserved`)
)

export const App = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  created_at: Schema.String
})
export type App = typeof App.Type

export const CreateApp = Schema.Struct({ name: AppName })
export type CreateApp = typeof CreateApp.Type
