import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { isUniqueViolation, persistence, Timestamp } from "../db/persistence.ts"
import { TokenNotFound, UsernameTaken, UserNotFound } from "../domain/Errors.ts"
import { ApiToken, Role, User } from "../domain/Identity.ts"
import { IdentityRepo } from "../domain/IdentityRepo.ts"
import { UUID_PATTERN } from "../domain/Ids.ts"

/** A user as `SELECT_USERS` selects it: the domain's User and its password hash. */
const UserRow = Schema.Struct({ ...User.fields, created_at: Timestamp, passwordHash: Schema.String })

/** An `api_tokens` row as `TOKEN_COLUMNS` selects it: the domain's ApiToken. */
const TokenRow = Schema.Struct({
  ...ApiToken.fields,
  created_at: Timestamp,
  last_used_at: Schema.NullOr(Timestamp),
  expires_at: Schema.NullOr(Timestamp)
})

/** A token found by its digest, with the principal it stands for. */
const TokenPrincipalRow = Schema.Struct({
  ...TokenRow.fields,
  username: Schema.String,
  role: Role,
  apps: User.fields.apps
})

/** A user's grants, as an array (empty without any). */
const APPS = "coalesce(array_agg(g.app_id::text) FILTER (WHERE g.app_id IS NOT NULL), '{}') AS apps"

const SELECT_USERS = `
  SELECT u.id, u.username, u.role, u.password_hash AS "passwordHash", u.created_at, ${APPS}
  FROM users u LEFT JOIN app_grants g ON g.user_id = u.id`

const TOKEN_COLUMNS = "id, user_id, name, created_at, last_used_at, expires_at"

/** A token that still works: neither revoked nor expired. */
const LIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"

const publicUser = ({ passwordHash: _, ...user }: typeof UserRow.Type): User => user

const toTokenPrincipal = (row: typeof TokenPrincipalRow.Type) => ({
  token: {
    id: row.id,
    user_id: row.user_id,
    name: row.name,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    expires_at: row.expires_at
  },
  principal: { user_id: row.user_id, username: row.username, role: row.role, apps: row.apps }
})

/** Users, grants and tokens in PostgreSQL (`users`, `app_grants`, `api_tokens`). */
export const layer = Layer.effect(
  IdentityRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const selectUsers = sql.literal(SELECT_USERS)
    const tokenColumns = sql.literal(TOKEN_COLUMNS)
    const live = sql.literal(LIVE)

    const listAllUsers = SqlSchema.findAll({
      Request: Schema.Void,
      Result: UserRow,
      execute: () => sql`${selectUsers} GROUP BY u.id ORDER BY u.created_at, u.username`
    })
    const findUserById = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: UserRow,
      execute: (id) => sql`${selectUsers} WHERE u.id = ${id} GROUP BY u.id`
    })
    const findUserByName = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: UserRow,
      execute: (username) => sql`${selectUsers} WHERE u.username = ${username} GROUP BY u.id`
    })
    const countUsers = SqlSchema.findOne({
      Request: Schema.Void,
      Result: Schema.Struct({ n: Schema.Int }),
      execute: () => sql`SELECT count(*)::int AS n FROM users`
    })
    const insertToken = SqlSchema.findOne({
      Request: Schema.Struct({
        id: Schema.String,
        userId: Schema.String,
        name: Schema.String,
        digest: Schema.String,
        expiresAt: Schema.NullOr(Schema.Date)
      }),
      Result: TokenRow,
      execute: ({ id, userId, name, digest, expiresAt }) =>
        sql`
          INSERT INTO api_tokens (id, user_id, name, digest, expires_at)
          VALUES (${id}, ${userId}, ${name}, ${digest}, ${expiresAt})
          RETURNING ${tokenColumns}`
    })
    const listAllTokens = SqlSchema.findAll({
      Request: Schema.Void,
      Result: TokenRow,
      execute: () => sql`SELECT ${tokenColumns} FROM api_tokens WHERE ${live} ORDER BY created_at`
    })
    const listUserTokens = SqlSchema.findAll({
      Request: Schema.String,
      Result: TokenRow,
      execute: (userId) =>
        sql`SELECT ${tokenColumns} FROM api_tokens WHERE ${live} AND user_id = ${userId} ORDER BY created_at`
    })
    const findTokenByDigest = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: TokenPrincipalRow,
      execute: (digest) =>
        sql`
          SELECT t.id, t.user_id, t.name, t.created_at, t.last_used_at, t.expires_at, u.username, u.role,
            ${sql.literal(APPS)}
          FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN app_grants g ON g.user_id = u.id
          WHERE t.digest = ${digest} AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
          GROUP BY t.id, u.id`
    })

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
          // Written just above, in this transaction: a missing row is a PersistenceError like any other.
          const row = yield* findUserById(id).pipe(Effect.flatMap(Effect.fromOption))
          return publicUser(row)
        },
        sql.withTransaction,
        persistence("IdentityRepo.createUser")
      ),
      listUsers: listAllUsers().pipe(
        Effect.map((rows) => rows.map(publicUser)),
        persistence("IdentityRepo.listUsers")
      ),
      // A UUID is an id and nothing else: a username of that shape (stored before they were
      // refused) must never stand for the user whose id it spells.
      findUser: Effect.fn("IdentityRepo.findUser")(
        function*(ref: string) {
          return yield* UUID_PATTERN.test(ref) ? findUserById(ref) : findUserByName(ref)
        },
        persistence("IdentityRepo.findUser")
      ),
      setGrants: Effect.fn("IdentityRepo.setGrants")(
        function*(id: string, appIds: ReadonlyArray<string>) {
          // The user's row is locked first: a concurrent delete waits, or has already removed it.
          const locked = UUID_PATTERN.test(id) ? yield* sql`SELECT id FROM users WHERE id = ${id} FOR UPDATE` : []
          if (locked.length === 0) return yield* new UserNotFound({ ref: id })
          yield* sql`DELETE FROM app_grants WHERE user_id = ${id}`
          for (const appId of new Set(appIds)) {
            yield* sql`INSERT INTO app_grants (user_id, app_id) VALUES (${id}, ${appId})`
          }
          const row = yield* findUserById(id).pipe(Effect.flatMap(Effect.fromOption))
          return publicUser(row)
        },
        sql.withTransaction,
        persistence("IdentityRepo.setGrants")
      ),
      deleteUser: Effect.fn("IdentityRepo.deleteUser")(
        function*(id: string) {
          const deleted = UUID_PATTERN.test(id) ? yield* sql`DELETE FROM users WHERE id = ${id} RETURNING id` : []
          if (deleted.length === 0) return yield* new UserNotFound({ ref: id })
        },
        persistence("IdentityRepo.deleteUser")
      ),
      userCount: countUsers().pipe(
        Effect.map(({ n }) => n),
        persistence("IdentityRepo.userCount")
      ),
      createToken: Effect.fn("IdentityRepo.createToken")(
        function*(input: {
          readonly userId: string
          readonly name: string
          readonly digest: string
          readonly expiresAt?: Date | undefined
        }) {
          const { userId, name, digest } = input
          if (input.expiresAt !== undefined) {
            yield* sql`
              DELETE FROM api_tokens
              WHERE user_id = ${userId} AND expires_at IS NOT NULL AND (expires_at <= now() OR revoked_at IS NOT NULL)`
          }
          return yield* insertToken({ id: randomUUID(), userId, name, digest, expiresAt: input.expiresAt ?? null })
        },
        persistence("IdentityRepo.createToken")
      ),
      listTokens: Effect.fn("IdentityRepo.listTokens")(
        function*(userId: string | undefined) {
          return userId === undefined
            ? yield* listAllTokens()
            : UUID_PATTERN.test(userId)
            ? yield* listUserTokens(userId)
            : []
        },
        persistence("IdentityRepo.listTokens")
      ),
      findToken: Effect.fn("IdentityRepo.findToken")(
        function*(digest: string) {
          return Option.map(yield* findTokenByDigest(digest), toTokenPrincipal)
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
      touchToken: Effect.fn("IdentityRepo.touchToken")(
        function*(id: string) {
          yield* sql`UPDATE api_tokens SET last_used_at = now() WHERE id = ${id}`
        },
        persistence("IdentityRepo.touchToken")
      )
    })
  })
)
