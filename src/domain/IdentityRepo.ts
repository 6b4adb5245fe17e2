import { Context, type Effect, type Option } from "effect"
import type { PersistenceError, TokenNotFound, UsernameTaken, UserNotFound } from "./Errors.ts"
import type { ApiToken, Principal, Role, User } from "./Identity.ts"

/**
 * Users, their app grants and their API tokens. Secrets are never stored: passwords as scrypt
 * hashes, tokens as SHA-256 digests (a token is looked up by its digest).
 */
export class IdentityRepo extends Context.Service<IdentityRepo, {
  readonly createUser: (input: {
    readonly username: string
    readonly passwordHash: string
    readonly role: Role
    readonly appIds: ReadonlyArray<string>
  }) => Effect.Effect<User, UsernameTaken | PersistenceError>
  readonly listUsers: Effect.Effect<ReadonlyArray<User>, PersistenceError>
  /** By id when `idOrUsername` has the shape of a UUID (in any case), else by username: never both. */
  readonly findUser: (
    idOrUsername: string
  ) => Effect.Effect<Option.Option<User & { readonly passwordHash: string }>, PersistenceError>
  /** Replaces the apps the user is granted (`appIds`, existing apps); answers the user as it is now. */
  readonly setGrants: (
    id: string,
    appIds: ReadonlyArray<string>
  ) => Effect.Effect<User, UserNotFound | PersistenceError>
  /** Deletes the user and its tokens. */
  readonly deleteUser: (id: string) => Effect.Effect<void, UserNotFound | PersistenceError>
  readonly userCount: Effect.Effect<number, PersistenceError>
  /**
   * A token; with `expiresAt`, one that stops working then (a dashboard session). Creating a
   * session deletes the user's ended ones (expired, or revoked by signing out), so sign-ins do not
   * pile up rows: a user keeps at most the sessions still live. Tokens without an end are kept.
   */
  readonly createToken: (input: {
    readonly userId: string
    readonly name: string
    readonly digest: string
    readonly expiresAt?: Date | undefined
  }) => Effect.Effect<ApiToken, PersistenceError>
  /** Tokens of one user, or every token when `userId` is undefined (not revoked, not expired). */
  readonly listTokens: (userId: string | undefined) => Effect.Effect<ReadonlyArray<ApiToken>, PersistenceError>
  /** The token (not revoked, not expired) with this digest, and who it acts as. */
  readonly findToken: (
    digest: string
  ) => Effect.Effect<Option.Option<{ readonly token: ApiToken; readonly principal: Principal }>, PersistenceError>
  readonly revokeToken: (id: string) => Effect.Effect<void, TokenNotFound | PersistenceError>
  readonly touchToken: (id: string) => Effect.Effect<void, PersistenceError>
}>()("picloud/domain/IdentityRepo") {}
