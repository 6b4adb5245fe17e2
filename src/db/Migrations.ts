import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as Migrator from "effect/sql/Migrator"
import { readdir, readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { splitStatements } from "./splitStatements.ts"

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url))

/** `migrations/NNNN_name.sql`, each run as its statements in order (inside the migrator's transaction). */
const sqlFileLoader = (dir: string): Migrator.Loader =>
  Effect.tryPromise({
    try: async () => {
      const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()
      return Promise.all(files.map(async (file) => {
        const [, id, name] = /^(\d+)_(.+)\.sql$/.exec(file)!
        const statements = splitStatements(await readFile(`${dir}/${file}`, "utf8"))
        const run = Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          for (const statement of statements) yield* sql.unsafe(statement)
        })
        return [Number(id), name!, Effect.succeed(run)] as const
      }))
    },
    catch: (cause) => new Migrator.MigrationError({ kind: "ImportError", message: `cannot read ${dir}`, cause })
  })

const runMigrations = Migrator.make({})

/**
 * Applies the migrations not yet applied, under the migrator's lock (so nodes starting together
 * migrate once), and logs what it applied. A second start applies nothing.
 */
export const migrate = (dir = MIGRATIONS_DIR) =>
  runMigrations({ loader: sqlFileLoader(dir) }).pipe(
    Effect.tap((applied) =>
      applied.length === 0
        ? Effect.logDebug("database schema is up to date")
        : Effect.logInfo(`applied migrations: ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}`)
    ),
    Effect.withSpan("Migrations.migrate")
  )

/** Runs the migrations when built: put it between the SqlClient and everything that uses it. */
export const layer = Layer.effectDiscard(migrate())
