import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"
import { freePort, spawnLogged, startPicloud, waitFor } from "./picloudProcess.ts"

const CADDYFILE = fileURLToPath(new URL("../../caddy/Caddyfile", import.meta.url))
const hasCaddy = (() => {
  try {
    execFileSync("caddy", ["version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

// CI installs Caddy (.ci/run) and must run this; on a laptop without it, say so instead of failing.
if (!hasCaddy && process.env.CI) throw new Error("caddy is not installed: apt-get install caddy")

describe.skipIf(!hasCaddy)("through a real Caddy (caddy/Caddyfile)", () => {
  it("proxies the admin API and the data plane, compressed", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "picloud-caddy-"))
    const [port, proxyPort] = [await freePort(), await freePort()]
    const picloud = await startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: "caddy-token" } })
    const caddy = spawnLogged("caddy", ["run", "--config", CADDYFILE, "--adapter", "caddyfile"], {
      PICLOUD_SITE: `http://127.0.0.1:${proxyPort}`,
      PICLOUD_UPSTREAMS: `127.0.0.1:${port}`,
      HOME: dataDir,
      XDG_DATA_HOME: dataDir,
      XDG_CONFIG_HOME: dataDir
    })
    try {
      const base = `http://127.0.0.1:${proxyPort}`
      await waitFor(`${base}/health`, 15_000, caddy)
      const created = await fetch(`${base}/api/admin/scripts`, {
        method: "POST",
        headers: { authorization: "Bearer caddy-token", "content-type": "application/json" },
        body: JSON.stringify({ name: "big", source: `export default () => "pi".repeat(5000)` })
      })
      assert.strictEqual(created.status, 201, await created.text())
      const auth = { authorization: "Bearer caddy-token" }
      const res = await fetch(`${base}/api/execute/big`, { headers: { ...auth, "accept-encoding": "gzip" } })
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.headers.get("content-encoding"), "gzip")
      assert.strictEqual(await res.text(), "pi".repeat(5000))
      const missing = await fetch(`${base}/api/execute/nope`, { headers: auth })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(((await missing.json()) as { error: { code: string } }).error.code, "script_not_found")
    } finally {
      caddy.child.kill("SIGTERM")
      await caddy.exited
      picloud.child.kill("SIGTERM")
      await picloud.exited
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 90_000)
})
