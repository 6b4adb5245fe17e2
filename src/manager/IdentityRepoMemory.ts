import { Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { TokenNotFound, UsernameTaken, UserNotFound } from "../domain/Errors.ts"
import type { ApiToken, Role, User } from "../domain/Identity.ts"
import { IdentityRepo } from "../domain/IdentityRepo.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

interface StoredToken extends ApiToken {
  readonly digest: string
  readonly revoked: boolean
}

/** Users and tokens in memory, with the same rules as the SQL layer. */
export const layer = Layer.sync(IdentityRepo, () => {
  const users = new Map<string, User & { readonly passwordHash: string }>()
  const tokens = new Map<string, StoredToken>()
  const publicUser = ({ passwordHash: _, ...user }: User & { readonly passwordHash: string }): User => user
  const publicToken = ({ digest: _d, revoked: _r, ...token }: StoredToken): ApiToken => token
  const live = (token: StoredToken) =>
    !token.revoked && (token.expires_at === null || Date.parse(token.expires_at) > Date.now())

  return IdentityRepo.of({
    createUser: Effect.fn("IdentityRepo.createUser")(function*(input: {
      readonly username: string
      readonly passwordHash: string
      readonly role: Role
      readonly appIds: ReadonlyArray<string>
    }) {
      if ([...users.values()].some((u) => u.username === input.username)) {
        return yield* new UsernameTaken({ username: input.username })
      }
      const user = {
        id: randomUUID(),
        username: input.username,
        role: input.role,
        apps: [...new Set(input.appIds)],
        created_at: new Date().toISOString(),
        passwordHash: input.passwordHash
      }
      users.set(user.id, user)
      return publicUser(user)
    }),
    listUsers: Effect.sync(() => [...users.values()].map(publicUser)),
    // A UUID is an id and nothing else, as in the SQL layer: a username of that shape (stored before
    // they were refused) must never stand for the user whose id it spells.
    findUser: (ref) =>
      Effect.sync(() =>
        Option.fromNullishOr(
          UUID_PATTERN.test(ref) ? users.get(ref.toLowerCase()) : [...users.values()].find((u) => u.username === ref)
        )
      ),
    setGrants: (id, appIds) =>
      Effect.suspend(() => {
        const user = users.get(id)
        if (user === undefined) return Effect.fail(new UserNotFound({ ref: id }))
        const updated = { ...user, apps: [...new Set(appIds)] }
        users.set(id, updated)
        return Effect.succeed(publicUser(updated))
      }),
    deleteUser: (id) =>
      Effect.suspend(() => {
        if (!users.delete(id)) return Effect.fail(new UserNotFound({ ref: id }))
        for (const [tokenId, token] of tokens) if (token.user_id === id) tokens.delete(tokenId)
        return Effect.void
      }),
    userCount: Effect.sync(() => users.size),
    createToken: (input) =>
      Effect.sync(() => {
        if (input.expiresAt !== undefined) {
          const now = Date.now()
          for (const [id, t] of tokens) {
            const ended = t.expires_at !== null && (Date.parse(t.expires_at) <= now || t.revoked)
            if (t.user_id === input.userId && ended) tokens.delete(id)
          }
        }
        const token: StoredToken = {
          id: randomUUID(),
          user_id: input.userId,
          name: input.name,
          created_at: new Date().toISOString(),
          last_used_at: null,
          expires_at: input.expiresAt?.toISOString() ?? null,
          digest: input.digest,
          revoked: false
        }
        tokens.set(token.id, token)
        return publicToken(token)
      }),
    listTokens: (userId) =>
      Effect.sync(() =>
        [...tokens.values()].filter((t) => live(t) && (userId === undefined || t.user_id === userId)).map(
          publicToken
        )
      ),
    findToken: (digest) =>
      Effect.sync(() => {
        const token = [...tokens.values()].find((t) => t.digest === digest && live(t))
        const user = token && users.get(token.user_id)
        return token && user
          ? Option.some({
            token: publicToken(token),
            principal: { user_id: user.id, username: user.username, role: user.role, apps: user.apps }
          })
          : Option.none()
      }),
    revokeToken: (id) =>
      Effect.suspend(() => {
        const token = tokens.get(id)
        if (!token || token.revoked) return Effect.fail(new TokenNotFound({ id }))
        tokens.set(id, { ...token, revoked: true })
        return Effect.void
      }),
    touchToken: (id) =>
      Effect.sync(() => {
        const token = tokens.get(id)
        if (token) tokens.set(id, { ...token, last_used_at: new Date().toISOString() })
      })
  })
})
