import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { isoTimestamp, isUniqueViolation, persistence } from "../db/persistence.ts"
import { TokenNotFound, UsernameTaken, UserNotFound } from "../domain/Errors.ts"
import type { ApiToken, Role, User } from "../domain/Identity.ts"
import { IdentityRepo } from "../domain/IdentityRepo.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

interface UserRow {
  readonly id: string
  readonly username: string
  readonly role: Role
  readonly password_hash: string
  readonly created_at: unknown
  readonly apps: ReadonlyArray<string> | null
}

interface TokenRow {
  readonly id: string
  readonly user_id: string
  readonly name: string
  readonly created_at: unknown
  readonly last_used_at: unknown
}

const toUser = (row: UserRow) => ({
  id: row.id,
  username: row.username,
  role: row.role,
  apps: (row.apps ?? []).filter((a) => a !== null),
  created_at: isoTimestamp(row.created_at),
  passwordHash: row.password_hash
})

const publicUser = ({ passwordHash: _, ...user }: ReturnType<typeof toUser>): User => user

const toToken = (row: TokenRow): ApiToken => ({
  id: row.id,
  user_id: row.user_id,
  name: row.name,
  created_at: isoTimestamp(row.created_at),
  last_used_at: row.last_used_at === null ? null : isoTimestamp(row.last_used_at)
})

/** Users, grants and tokens in PostgreSQL (`users`, `app_grants`, `api_tokens`). */
export const layer = Layer.effect(
  IdentityRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const selectUsers = sql`
      SELECT u.id, u.username, u.role, u.password_hash, u.created_at,
             array_agg(g.app_id::text) FILTER (WHERE g.app_id IS NOT NULL) AS apps
      FROM users u LEFT JOIN app_grants g ON g.user_id = u.id`

    return IdentityRepo.of({
      createUser: Effect.fn("IdentityRepo.createUser")(
        function*(
          input: {
            readonly username: string
            readonly passwordHash: string
            readonly role: Role
            readonly appIds: ReadonlyArray<string>
          }
        ) {
          const id = randomUUID()
          yield* sql`INSERT INTO users (id, username, password_hash, role) VALUES (${id}, ${input.username}, ${input.passwordHash}, ${input.role})`
            .pipe(
              Effect.mapError((
                error: SqlError
              ) => (isUniqueViolation(error) ? new UsernameTaken({ username: input.username }) : error))
            )
          for (const appId of new Set(input.appIds)) {
            yield* sql`INSERT INTO app_grants (user_id, app_id) VALUES (${id}, ${appId})`
          }
          const [row] = yield* sql<UserRow>`${selectUsers} WHERE u.id = ${id} GROUP BY u.id`
          return publicUser(toUser(row!))
        },
        sql.withTransaction,
        persistence("IdentityRepo.createUser")
      ),
      listUsers: sql<UserRow>`${selectUsers} GROUP BY u.id ORDER BY u.created_at, u.username`.pipe(
        Effect.map((rows) => rows.map((row) => publicUser(toUser(row)))),
        persistence("IdentityRepo.listUsers")
      ),
      // A UUID is an id and nothing else: a username of that shape (stored before they were
      // refused) must never stand for the user whose id it spells.
      findUser: Effect.fn("IdentityRepo.findUser")(
        function*(ref: string) {
          const rows = UUID_PATTERN.test(ref)
            ? yield* sql<UserRow>`${selectUsers} WHERE u.id = ${ref} GROUP BY u.id`
            : yield* sql<UserRow>`${selectUsers} WHERE u.username = ${ref} GROUP BY u.id`
          return Option.map(Option.fromNullishOr(rows[0]), toUser)
        },
        persistence("IdentityRepo.findUser")
      ),
      deleteUser: Effect.fn("IdentityRepo.deleteUser")(
        function*(id: string) {
          const deleted = UUID_PATTERN.test(id) ? yield* sql`DELETE FROM users WHERE id = ${id} RETURNING id` : []
          if (deleted.length === 0) return yield* new UserNotFound({ ref: id })
        },
        persistence("IdentityRepo.deleteUser")
      ),
      userCount: sql<{ n: number }>`SELECT count(*)::int AS n FROM users`.pipe(
        Effect.map((rows) => rows[0]!.n),
        persistence("IdentityRepo.userCount")
      ),
      createToken: Effect.fn("IdentityRepo.createToken")(
        function*(input: { readonly userId: string; readonly name: string; readonly digest: string }) {
          const [row] = yield* sql<TokenRow>`
            INSERT INTO api_tokens (id, user_id, name, digest) VALUES (${randomUUID()}, ${input.userId}, ${input.name}, ${input.digest})
            RETURNING id, user_id, name, created_at, last_used_at`
          return toToken(row!)
        },
        persistence("IdentityRepo.createToken")
      ),
      listTokens: Effect.fn("IdentityRepo.listTokens")(
        function*(userId: string | undefined) {
          const rows = userId === undefined
            ? yield* sql<
              TokenRow
            >`SELECT id, user_id, name, created_at, last_used_at FROM api_tokens WHERE revoked_at IS NULL ORDER BY created_at`
            : UUID_PATTERN.test(userId)
            ? yield* sql<
              TokenRow
            >`SELECT id, user_id, name, created_at, last_used_at FROM api_tokens WHERE revoked_at IS NULL AND user_id = ${userId} ORDER BY created_at`
            : []
          return rows.map(toToken)
        },
        persistence("IdentityRepo.listTokens")
      ),
      findToken: Effect.fn("IdentityRepo.findToken")(
        function*(digest: string) {
          const [row] = yield* sql<
            TokenRow & { readonly username: string; readonly role: Role; readonly apps: ReadonlyArray<string> | null }
          >`
            SELECT t.id, t.user_id, t.name, t.created_at, t.last_used_at, u.username, u.role,
                   array_agg(g.app_id::text) FILTER (WHERE g.app_id IS NOT NULL) AS apps
            FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN app_grants g ON g.user_id = u.id
            WHERE t.digest = ${digest} AND t.revoked_at IS NULL
            GROUP BY t.id, u.id`
          if (!row) return Option.none()
          return Option.some({
            token: toToken(row),
            principal: { user_id: row.user_id, username: row.username, role: row.role, apps: row.apps ?? [] }
          })
        },
        persistence("IdentityRepo.findToken")
      ),
      revokeToken: Effect.fn("IdentityRepo.revokeToken")(
        function*(id: string) {
          const revoked = UUID_PATTERN.test(id)
            ? yield* sql`UPDATE api_tokens SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL RETURNING id`
            : []
          if (revoked.length === 0) return yield* new TokenNotFound({ id })
        },
        persistence("IdentityRepo.revokeToken")
      ),
      touchToken: (id) =>
        sql`UPDATE api_tokens SET last_used_at = now() WHERE id = ${id}`.pipe(
          Effect.asVoid,
          persistence("IdentityRepo.touchToken")
        )
    })
  })
)
