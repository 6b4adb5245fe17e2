import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, Option } from "effect"
import { EmbeddedPostgres } from "./EmbeddedPostgres.ts"
import * as Migrations from "./Migrations.ts"

const MAX_CONNECTIONS = Config.Int("PICLOUD_DB_MAX_CONNECTIONS").pipe(Config.withDefault(10))
/**
 * How long a pooled connection may sit unused before it is closed. The pool lends connections in
 * turn, so with the default (60 s) the idle platform's few queries (the dispatcher's fallback poll)
 * touched every connection a burst had opened often enough to keep them all, and PostgreSQL kept a
 * backend process for each. 10 s lets a burst's extra connections go.
 */
const IDLE_TIMEOUT = Config.Duration("PICLOUD_DB_IDLE_TIMEOUT").pipe(Config.withDefault("10 seconds"))

const pool = Effect.gen(function*() {
  return { maxConnections: yield* MAX_CONNECTIONS, idleTimeout: yield* IDLE_TIMEOUT }
})

/** The embedded cluster as a SqlClient; the cluster stops after the client's pool has closed. */
const embedded = Layer.unwrap(Effect.gen(function*() {
  const pg = yield* EmbeddedPostgres
  return PgClient.layer({
    host: pg.host,
    port: pg.port,
    username: pg.username,
    password: pg.password,
    database: pg.database,
    ...yield* pool
  })
})).pipe(Layer.provide(EmbeddedPostgres.layer))

/**
 * PostgreSQL for the whole process: `DATABASE_URL` when set, else the embedded cluster under
 * `PICLOUD_DATA_DIR`. Migrations are applied before anything else may use it.
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const url = yield* Config.option(Config.Redacted("DATABASE_URL"))
  const client = Option.isSome(url)
    ? PgClient.layer({ url: url.value, ...yield* pool })
    : embedded
  return Migrations.layer.pipe(Layer.provideMerge(client))
}))
