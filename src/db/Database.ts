import { PgClient } from "@effect/sql-pg"
import { Data, Effect, Layer, Option } from "effect"
import * as Settings from "../config/Settings.ts"
import { EmbeddedPostgres } from "./EmbeddedPostgres.ts"
import * as Migrations from "./Migrations.ts"

const pool = Effect.gen(function*() {
  return { maxConnections: yield* Settings.dbMaxConnections.config, idleTimeout: yield* Settings.dbIdleTimeout.config }
})

/** A SqlClient on an `EmbeddedPostgres` provided below it (a test may place the cluster itself). */
export const embeddedClient = Layer.unwrap(Effect.gen(function*() {
  const pg = yield* EmbeddedPostgres
  return PgClient.layer({
    host: pg.host,
    port: pg.port,
    username: pg.username,
    password: pg.password,
    database: pg.database,
    ...yield* pool
  })
}))

/** The embedded cluster as a SqlClient; the cluster stops after the client's pool has closed. */
const embedded = embeddedClient.pipe(Layer.provide(EmbeddedPostgres.layer))

/**
 * PostgreSQL for the whole process: `DATABASE_URL` when set, else the embedded cluster under
 * `PICLOUD_DATA_DIR`. Migrations are applied before anything else may use it.
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const url = yield* Settings.databaseUrl.config
  const client = Option.isSome(url)
    ? PgClient.layer({ url: url.value, ...yield* pool })
    : embedded
  return Migrations.layer.pipe(Layer.provideMerge(client))
}))

/** A cluster process was started without `DATABASE_URL`: its processes must share one database. */
export class DatabaseUrlRequired extends Data.TaggedError("DatabaseUrlRequired")<{ readonly message: string }> {}

/**
 * PostgreSQL for a process of a cluster (`role`): `DATABASE_URL` only, since its processes share one
 * database (no embedded one). Migrations are applied before anything else may use it; processes
 * starting together take turns (the migrator locks).
 */
export const layerShared = (role: string) =>
  Layer.unwrap(Effect.gen(function*() {
    const url = yield* Settings.databaseUrl.config
    if (Option.isNone(url)) {
      return yield* new DatabaseUrlRequired({
        message: `picloud ${role} needs DATABASE_URL: the processes of a cluster share one PostgreSQL ` +
          `(postgres://user:password@host:5432/database); only the all-in-one mode embeds one`
      })
    }
    return Migrations.layer.pipe(Layer.provideMerge(PgClient.layer({ url: url.value, ...yield* pool })))
  }))
