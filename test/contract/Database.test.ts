import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Database from "../../src/db/Database.ts"
import { migrate } from "../../src/db/Migrations.ts"
import { splitStatements } from "../../src/db/splitStatements.ts"

const withDataDir = <A, E>(body: (dataDir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "picloud-db-test-"))
      chmodSync(dir, 0o755)
      return dir
    }),
    body,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const database = (dataDir: string) =>
  Database.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_DATA_DIR: dataDir }))))

const countScripts = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM scripts`)[0]!.n
})

describe("Database (embedded PostgreSQL)", () => {
  it.live("migrations apply once: a second run applies nothing, and data persists across restarts", () =>
    withDataDir((dataDir) =>
      Effect.gen(function*() {
        yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          yield* sql`INSERT INTO scripts (id, app_id, name, version, timeout_seconds) VALUES (${crypto.randomUUID()}, '00000000-0000-4000-8000-000000000000', 'kept', 1, 30)`
          assert.deepStrictEqual(yield* migrate(), [])
        }).pipe(Effect.provide(database(dataDir)))
        assert.isFalse(existsSync(join(dataDir, "postgres", "postmaster.pid")), "a clean stop removes the lock")
        assert.strictEqual(yield* countScripts.pipe(Effect.provide(database(dataDir))), 1)
      })
    ))

  it.live(
    "starts after a kill -9 of the postmaster left its lock behind",
    () =>
      withDataDir((dataDir) =>
        Effect.gen(function*() {
          const lockFile = join(dataDir, "postgres", "postmaster.pid")
          yield* Effect.gen(function*() {
            const pid = Number(readFileSync(lockFile, "utf8").split("\n")[0])
            process.kill(pid, "SIGKILL")
            while (existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/status`, "utf8").includes("zombie")) {
              yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
            }
          }).pipe(Effect.provide(database(dataDir)), Effect.catchCause(() => Effect.void))
          assert.isTrue(existsSync(lockFile), "the crash left the lock file")
          assert.strictEqual(yield* countScripts.pipe(Effect.provide(database(dataDir))), 0)
        })
      ),
    60_000
  )
  it.live("0007 removes the bearer tokens that requests queued or dead-lettered before it still held", () =>
    withDataDir((dataDir) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const payload = (authorization: string) =>
          JSON.stringify({
            request: {
              method: "POST",
              path: "/a/b",
              params: {},
              query: {},
              headers: { authorization, "x-kept": "1" },
              body: ""
            },
            principal: null
          })
        const app = "00000000-0000-4000-8000-000000000000"
        const rows = [["Bearer pc_leaked", "dead_letters"], ["bEaReR  pc_leaked2", "outbox"], [
          "Basic dXNlcjpwYXNz",
          "dead_letters"
        ]] as const
        const ids: Array<string> = []
        for (const [authorization, table] of rows) {
          const id = crypto.randomUUID()
          ids.push(id)
          yield* table === "outbox"
            ? sql`INSERT INTO outbox (id, app_id, script_id, kind, payload, retry, lease_seconds, next_attempt_at, accepted_at)
                VALUES (${id}, ${app}, ${app}, 'http', ${payload(authorization)}::jsonb, '{}'::jsonb, 60, now(), now())`
            : sql`INSERT INTO dead_letters (id, app_id, script_id, kind, payload, retry, lease_seconds, attempts, error, accepted_at)
                VALUES (${id}, ${app}, ${app}, 'http', ${
              payload(authorization)
            }::jsonb, '{}'::jsonb, 60, 1, '{}'::jsonb, now())`
        }
        const file = fileURLToPath(new URL("../../migrations/0007_scrub_bearer_headers.sql", import.meta.url))
        for (const statement of splitStatements(readFileSync(file, "utf8"))) yield* sql.unsafe(statement)
        const headers = yield* sql<{ id: string; headers: string }>`
          SELECT id, payload #>> '{request,headers}' AS headers FROM dead_letters
          UNION ALL SELECT id, payload #>> '{request,headers}' FROM outbox`
        const byId = new Map(headers.map((row) => [row.id, JSON.parse(row.headers)]))
        assert.deepStrictEqual(byId.get(ids[0]!), { "x-kept": "1" })
        assert.deepStrictEqual(byId.get(ids[1]!), { "x-kept": "1" })
        assert.deepStrictEqual(byId.get(ids[2]!), { authorization: "Basic dXNlcjpwYXNz", "x-kept": "1" })
      }).pipe(Effect.provide(database(dataDir)))
    ))
  it.live("connections a burst opened are closed once idle (PICLOUD_DB_IDLE_TIMEOUT), even while light queries go on", () =>
    withDataDir((dataDir) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const backends = sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`
          .pipe(Effect.map((rows) => rows[0]!.n))
        yield* Effect.all(Array.from({ length: 6 }, () => sql`SELECT pg_sleep(0.3)`), { concurrency: "unbounded" })
        assert.strictEqual(yield* backends, 6)
        // A light, steady load, as the dispatcher's fallback poll is when idle: it must not keep them all.
        for (let i = 0; i < 16; i++) {
          yield* sql`SELECT 1`
          yield* Effect.sleep("250 millis")
        }
        assert.isAtMost(yield* backends, 2)
      }).pipe(Effect.provide(Database.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
        PICLOUD_DATA_DIR: dataDir,
        PICLOUD_DB_MAX_CONNECTIONS: "6",
        PICLOUD_DB_IDLE_TIMEOUT: "1 second"
      }))))))
    ))
})
