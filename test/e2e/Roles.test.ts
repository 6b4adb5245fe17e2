import { fileURLToPath } from "node:url"
import { describe, it } from "vitest"
import { assert } from "vitest"
import { exitWithin, freePort, spawnLogged, waitFor } from "./picloudProcess.ts"

const MAIN = fileURLToPath(new URL("../../src/runtime/main.ts", import.meta.url))
const withoutDatabase = { DATABASE_URL: "", LOG_FORMAT: "pretty" }

describe("the command's roles (node src/runtime/main.ts [role])", () => {
  it("an unknown role is refused with the list of roles, exit code 2", async () => {
    const proc = spawnLogged(process.execPath, [MAIN, "orchestra"], withoutDatabase)
    assert.strictEqual(await exitWithin(proc, 20_000), 2)
    assert.match(proc.output(), /unknown role "orchestra"; expected one of manager, orchestrator, executor/)
  }, 30_000)

  for (const role of ["manager", "orchestrator"]) {
    it(`${role} without DATABASE_URL stops at once and says why (no embedded database in a cluster)`, async () => {
      const proc = spawnLogged(process.execPath, [MAIN, role], { ...withoutDatabase, PORT: String(await freePort()) })
      assert.strictEqual(await exitWithin(proc, 20_000), 1)
      assert.include(proc.output(), `picloud ${role} needs DATABASE_URL`)
    }, 30_000)
  }

  it("the executor needs no database: it starts, answers /health, and stops cleanly on SIGTERM", async () => {
    const port = await freePort()
    const proc = spawnLogged(process.execPath, [MAIN, "executor"], {
      ...withoutDatabase,
      PORT: String(port),
      HOST: "127.0.0.1",
      PICLOUD_EXECUTOR_THREADS: "1"
    })
    try {
      await waitFor(`http://127.0.0.1:${port}/health`, 20_000, proc)
      const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json()
      assert.deepStrictEqual(health, { status: "ok", load: [0] })
    } finally {
      proc.child.kill("SIGTERM")
    }
    assert.strictEqual(await exitWithin(proc, 20_000), 0)
  }, 30_000)
})
