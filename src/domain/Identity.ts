import { Context, Effect, Schema } from "effect"
import { AppNotFound } from "./Errors.ts"
import { UUID_PATTERN } from "./Ids.ts"
import { Ref, StorableText } from "./StorableText.ts"

/**
 * `admin`: everything. `developer`: manages the apps it is granted. `invoker`: may call the
 * token-protected endpoints of the apps it is granted.
 */
export const Role = Schema.Literals(["admin", "developer", "invoker"])
export type Role = typeof Role.Type

/** Who a request (and the execution it starts) acts as. Scripts see it as `ctx.principal`. */
export const Principal = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  role: Role,
  /** Ids of the apps granted (meaningless for admins, who have them all). */
  apps: Schema.Array(Schema.String)
})
export type Principal = typeof Principal.Type

/**
 * Whether `principal` may manage the app (its scripts, routes, triggers, ...): admins any app,
 * developers the apps they are granted. What registering a trigger needs, and keeping it running.
 */
/**
 * Admins see every app; others the apps they are granted (invokers included: they may run its
 * scripts). Outside them, an app's resources do not exist to the principal (404).
 */
export const seesApp = (principal: Principal, appId: string) =>
  principal.role === "admin" || principal.apps.includes(appId)

export const managesApp = (principal: Principal, appId: string) =>
  principal.role === "admin" || (principal.role === "developer" && principal.apps.includes(appId))

/** Succeeds when the principal manages the app; otherwise the app is, to it, not found. */
export const requireManages = (principal: Principal, appId: string): Effect.Effect<void, AppNotFound> =>
  managesApp(principal, appId) ? Effect.void : Effect.fail(new AppNotFound({ ref: appId }))

/** The principal of the admin API request being handled (provided by the auth middleware). */
export class CurrentPrincipal
  extends Context.Service<CurrentPrincipal, Principal>()("picloud/domain/CurrentPrincipal")
{}

/**
 * A username is never shaped like a UUID: `/users/{user}` reads a UUID as an id, so a user named
 * after another's id would stand for that other user.
 */
export const Username = StorableText(64).check(
  Schema.isPattern(/^[a-z0-9][a-z0-9._-]{0,63}$/, {
    message: "username must be 1-64 lower-case letters, digits, '.', '-' or '_'"
  }),
  Schema.makeFilter((name: string) => !UUID_PATTERN.test(name) || "username must not have the shape of a UUID")
)

/** Passwords are hashed with scrypt: long enough for any passphrase, short enough to hash cheaply. */
export const MAX_PASSWORD_LENGTH = 1024

export const User = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  role: Role,
  apps: Schema.Array(Schema.String),
  created_at: Schema.String
})
export type User = typeof User.Type

export const CreateUser = Schema.Struct({
  username: Username,
  password: StorableText(MAX_PASSWORD_LENGTH).check(
    Schema.isMinLength(12, { message: "password must have at least 12 characters" })
  ),
  role: Role,
  /** App names or ids to grant (developers and invokers). */
  apps: Schema.optionalKey(Schema.Array(Ref))
})
export type CreateUser = typeof CreateUser.Type

/** The most apps one request grants: more is a 400, not a long transaction. */
export const MAX_GRANTS = 1000

/** `PUT /users/{user}/apps`: the apps (names or ids) the user is granted from now on, replacing its grants. */
export const GrantApps = Schema.Struct({
  apps: Schema.Array(Ref).check(
    Schema.isMaxLength(MAX_GRANTS, { message: `apps lists at most ${MAX_GRANTS} apps` })
  )
})
export type GrantApps = typeof GrantApps.Type

/** An API token as listed: never the secret itself, which is shown once, at creation. */
export const ApiToken = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  name: Schema.String,
  created_at: Schema.String,
  last_used_at: Schema.NullOr(Schema.String),
  /** When it stops working (a dashboard session's does); `null`: never. */
  expires_at: Schema.NullOr(Schema.String)
})
export type ApiToken = typeof ApiToken.Type

export const CreateToken = Schema.Struct({
  name: StorableText(100).check(Schema.isMinLength(1))
})

/**
 * `POST /login`. A name that cannot be a username is refused before the lockout counts it (so
 * the lockout holds only bounded, canonical names), and a UUID cannot stand for a user's id.
 */
export const Login = Schema.Struct({
  username: Username,
  password: StorableText(MAX_PASSWORD_LENGTH)
})

/** A token's secret as the dashboard's sign-in form takes it: any PiCloud token, bounded. */
export const TokenSignIn = Schema.Struct({
  token: StorableText(1024).check(Schema.isMinLength(1))
})

/** `POST /session`: a username and password (throttled like `POST /login`), or a token's secret. */
export const SignIn = Schema.Union([Login, TokenSignIn])
export type SignIn = typeof SignIn.Type

/** Who a dashboard session (or a bearer token) acts as, as `/session` answers. */
export const SessionInfo = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  role: Role
})
