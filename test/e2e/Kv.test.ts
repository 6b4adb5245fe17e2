import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort, jsonClient, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-kv-token"
const dataDir = mkdtempSync(join(tmpdir(), "picloud-kv-"))
let picloud: Awaited<ReturnType<typeof startPicloud>>

beforeAll(async () => {
  picloud = await startPicloud({ dataDir, port: await freePort(), env: { PICLOUD_ADMIN_TOKEN: TOKEN } })
}, 120_000)
afterAll(async () => {
  picloud?.child.kill("SIGTERM")
  await picloud?.exited
  rmSync(dataDir, { recursive: true, force: true })
}, 60_000)

const request = jsonClient(() => picloud.url, TOKEN)

const deploy = async (name: string, source: string) => {
  const res = await request("POST", "/api/admin/scripts", { name, source })
  assert.strictEqual(res.status, 201, res.text)
}

describe("e2e: scripts' kv on PostgreSQL, through worker threads", () => {
  it("100 parallel increments with ifVersion, retried on 409, end at exactly 100", async () => {
    await deploy(
      "incr",
      `export default async () => {
        const entry = await kv.getEntry("counter")
        await kv.set("counter", (entry?.value ?? 0) + 1, { ifVersion: entry?.version ?? 0 })
        return { was: entry?.version ?? 0 }
      }`
    )
    let conflicts = 0
    await Promise.all(Array.from({ length: 100 }, async () => {
      for (;;) {
        const res = await request("POST", "/api/execute/incr")
        if (res.status === 200) return
        // 503: all execution slots are busy (100 callers, 32 slots): retry, as Retry-After says.
        if (res.status !== 503) {
          assert.strictEqual(res.status, 409, res.text)
          assert.strictEqual(res.json.error.code, "kv_conflict")
          conflicts++
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20))
      }
    }))
    const counter = await request("GET", "/api/admin/apps/default/kv/counter")
    assert.deepInclude(counter.json, { value: 100, version: 100 })
    // Not a test of luck: with 100 callers at once, some of them must have collided.
    assert.isAbove(conflicts, 0)
  }, 120_000)

  it("a script that writes then throws leaves nothing behind", async () => {
    await deploy("halfway", `export default async () => { await kv.set("half", 1); throw new Error("no") }`)
    assert.strictEqual((await request("POST", "/api/execute/halfway")).status, 502)
    assert.strictEqual((await request("GET", "/api/admin/apps/default/kv/half")).status, 404)
  })
})
