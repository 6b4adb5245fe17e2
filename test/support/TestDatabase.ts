import { ConfigProvider, Effect, Layer } from "effect"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Database from "../../src/db/Database.ts"

/**
 * A real PostgreSQL for a test file: the embedded cluster in a fresh temporary data directory,
 * migrated, removed when the layer closes. Share it across a file with `layer(TestDatabase)`.
 */
export const TestDatabase = Layer.unwrap(Effect.gen(function*() {
  const dataDir = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "picloud-test-db-"))
      // As root, PostgreSQL runs as `postgres` and must be able to enter the directory.
      chmodSync(dir, 0o755)
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  return Database.layer.pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PICLOUD_DATA_DIR: dataDir, LOG_LEVEL: "Warn" })))
  )
}))
