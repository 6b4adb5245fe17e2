import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger } from "effect"
import { SqlClient } from "effect/sql"
import { execFileSync } from "node:child_process"
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import * as Database from "../../src/db/Database.ts"
import { EmbeddedPostgres } from "../../src/db/EmbeddedPostgres.ts"
import { clusterName, ROOT_STATE_DIR } from "../../src/db/postgresServer.ts"

const asRoot = userInfo().uid === 0

/** A fresh directory that only its owner may enter (mkdtemp makes it 0700), like /root. */
const withPrivateDir = <A, E>(body: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "picloud-private-"))),
    body,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** Runs `body` against the embedded database of `dataDir`, and returns what it logged too. */
const withDatabase = <A, E>(dataDir: string, body: Effect.Effect<A, E, SqlClient.SqlClient | EmbeddedPostgres>) => {
  const logged: Array<string> = []
  const capture = Logger.layer([Logger.make(({ message }) => void logged.push(String(message)))])
  return Effect.scoped(
    Effect.gen(function*() {
      const context = yield* Layer.build(
        Database.embeddedClient.pipe(
          Layer.provideMerge(EmbeddedPostgres.layer),
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_DATA_DIR: dataDir })))
        )
      )
      return yield* Effect.provide(body, context)
    })
  ).pipe(Effect.map((value) => ({ value, logged })), Effect.provide(capture))
}

describe.runIf(asRoot)("embedded PostgreSQL as root, data directory out of the postgres user's reach", () => {
  it.live(
    "the cluster lives in /var/lib/picloud/clusters/<name>, linked from the data directory, and persists",
    () =>
      withPrivateDir((dir) =>
        Effect.gen(function*() {
          const dataDir = join(dir, "data")
          const target = join(ROOT_STATE_DIR, "clusters", clusterName(dataDir))
          yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(target, { recursive: true, force: true })))
          const first = yield* withDatabase(
            dataDir,
            Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              yield* sql`CREATE TABLE kept (name text)`
              yield* sql`INSERT INTO kept VALUES ('kept')`
              return (yield* EmbeddedPostgres).directory
            })
          )
          assert.strictEqual(first.value, target)
          assert.isTrue(lstatSync(join(dataDir, "postgres")).isSymbolicLink())
          assert.strictEqual(readlinkSync(join(dataDir, "postgres")), target)
          assert.strictEqual(statSync(target).uid, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })))
          assert.isTrue(
            first.logged.some((line) => line.includes(target) && line.includes(join(dataDir, "postgres"))),
            "the log says where the cluster is"
          )
          assert.strictEqual(
            statSync(join(dataDir, "postgres.password")).mode & 0o777,
            0o600,
            "the password stays with PiCloud"
          )

          const second = yield* withDatabase(
            dataDir,
            Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              return (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM kept`)[0]!.n
            })
          )
          assert.strictEqual(second.value, 1, "a restart follows the link to the same data")
          assert.isFalse(second.logged.some((line) => line.includes("initialising")))
        }).pipe(Effect.scoped)
      ),
    60_000
  )

  it.live("a real cluster directory it cannot reach is an error that says what to do, not moved", () =>
    withPrivateDir((dir) =>
      Effect.gen(function*() {
        const dataDir = join(dir, "data")
        mkdirSync(join(dataDir, "postgres"), { recursive: true })
        const error = yield* withDatabase(dataDir, Effect.void).pipe(Effect.flip)
        assert.include(String(error), `cannot reach ${join(dataDir, "postgres")}`)
        assert.include(String(error), "PICLOUD_DATA_DIR")
        assert.isFalse(lstatSync(join(dataDir, "postgres")).isSymbolicLink())
      })
    ))
})

describe("embedded PostgreSQL's environment", () => {
  it.live("PostgreSQL does not inherit PiCloud's settings (which hold its secrets)", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const dir = mkdtempSync(join(tmpdir(), "picloud-env-"))
        chmodSync(dir, 0o755)
        process.env["PICLOUD_TEST_CANARY"] = "canary-secret"
        return dir
      }),
      (dir) =>
        Effect.gen(function*() {
          const { value: environment } = yield* withDatabase(
            join(dir, "data"),
            Effect.gen(function*() {
              const { directory } = yield* EmbeddedPostgres
              const pid = readFileSync(join(directory, "postmaster.pid"), "utf8").split("\n")[0]!
              return readFileSync(`/proc/${pid}/environ`, "utf8")
            })
          )
          assert.include(environment, "LC_MESSAGES=")
          assert.notInclude(environment, "canary-secret")
        }),
      (dir) =>
        Effect.sync(() => {
          delete process.env["PICLOUD_TEST_CANARY"]
          rmSync(dir, { recursive: true, force: true })
        })
    ))
})
