import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { collectConsoleErrors, hasChromium, launchChromium, screenshot, seriousViolations } from "./browser.ts"
import { freePort, jsonClient, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-dashboard-data-admin-token"
/** The environment's admin token belongs to no user, so cannot hold a session: the browser signs in as a user. */
const USER = { username: "ada", password: "correct horse battery", role: "admin" }

let dataDir = ""
let picloud: Awaited<ReturnType<typeof startPicloud>>
let browser: Browser
let page: Page
let consoleErrors: Array<string> = []
const call = jsonClient(() => picloud.url, TOKEN)

const goto = async (path: string) => {
  await page.goto(`${picloud.url}/dashboard${path}`)
}

/** The page has no serious or critical accessibility violation, and logged no error. */
const assertCleanPage = async (name: string) => {
  const violations = await seriousViolations(page)
  assert.deepStrictEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`)
  assert.deepStrictEqual(consoleErrors, [], `${name}: console errors`)
}

/** The page's status line (`role=status` with text) once it says `text`. */
const sees = async (text: string | RegExp) => {
  await page.getByText(text).first().waitFor()
}

describe.skipIf(!hasChromium)("the dashboard's data pages in Chromium", () => {
  beforeAll(async () => {
    execFileSync(process.execPath, ["dashboard/build.mjs"], { stdio: "inherit" })
    dataDir = mkdtempSync(join(tmpdir(), "picloud-dashboard-data-"))
    ;[picloud, browser] = await Promise.all([
      freePort().then((port) =>
        startPicloud({
          dataDir,
          port,
          env: { PICLOUD_ADMIN_TOKEN: TOKEN, PICLOUD_SECRET_KEY: "e2e-dashboard-data-secret-key" }
        })
      ),
      launchChromium()
    ])
    const created = await call("POST", "/api/admin/users", USER)
    assert.strictEqual(created.status, 201, created.text)
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    page.setDefaultTimeout(10_000)
    consoleErrors = collectConsoleErrors(page)
    await goto("/apps")
    await page.getByLabel("Username", { exact: true }).fill(USER.username)
    await page.getByLabel("Password", { exact: true }).fill(USER.password)
    await page.getByRole("button", { name: "Sign in", exact: true }).click()
    await page.getByRole("heading", { name: "Apps" }).waitFor()
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    picloud?.child.kill("SIGTERM")
    await picloud?.exited
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it("creates an app, and a route of it whose full URL is shown to copy; deletes the route after asking", async () => {
    await page.getByLabel("New app name").fill("shop")
    await page.getByRole("button", { name: "Create app" }).click()
    await sees("Created app shop.")
    await page.getByRole("cell", { name: /^shop/ }).waitFor()
    await assertCleanPage("apps")
    const script = await call("POST", "/api/admin/scripts", {
      app: "shop",
      name: "order",
      source: "export default (req) => ({ order: req.params.id })"
    })
    assert.strictEqual(script.status, 201, script.text)

    await page.getByRole("row", { name: /shop/ }).getByRole("link", { name: "Routes" }).click()
    await page.getByRole("heading", { name: "Routes" }).waitFor()
    assert.strictEqual(new URL(page.url()).search, "?app=shop")
    await page.getByLabel("Path").fill("/orders/:id")
    await page.getByRole("button", { name: "Create route" }).click()
    const url = `${picloud.url}/shop/orders/:id`
    await sees(`Created GET ${url}.`)
    const row = page.getByRole("row", { name: /orders/ })
    assert.include(await row.innerText(), url)
    await row.getByRole("button", { name: `Copy the URL ${url}` }).click()
    await row.getByRole("status").filter({ hasText: /Copied|refused/ }).waitFor()
    const answered = await fetch(`${picloud.url}/shop/orders/42`)
    assert.deepStrictEqual(await answered.json(), { order: "42" })
    await assertCleanPage("routes")
    await screenshot(page, "dashboard-data-routes")

    await row.getByRole("button", { name: "Delete" }).click()
    await row.getByRole("button", { name: "Yes, delete" }).click()
    await sees("Deleted GET /orders/:id.")
    assert.strictEqual((await call("GET", "/api/admin/routes?app=shop")).json.items.length, 0)
  })

  it("sets a secret (its value never shown) and deletes it", async () => {
    await goto("/secrets?app=shop")
    await page.getByRole("heading", { name: "Secrets" }).waitFor()
    await sees("No secrets in shop.")
    await page.getByLabel("Secret name").fill("STRIPE_KEY")
    await page.getByLabel("Value").fill("sk_live_very_secret")
    await page.getByRole("button", { name: "Set secret" }).click()
    await sees("Set STRIPE_KEY.")
    const row = page.getByRole("row", { name: /STRIPE_KEY/ })
    await row.waitFor()
    assert.notInclude(await page.content(), "sk_live_very_secret")
    await assertCleanPage("secrets")
    await row.getByRole("button", { name: "Delete" }).click()
    await row.getByRole("button", { name: "Yes, delete" }).click()
    await sees("Deleted STRIPE_KEY.")
    assert.deepStrictEqual((await call("GET", "/api/admin/apps/shop/secrets")).json.items, [])
    await screenshot(page, "dashboard-data-secrets")
  })

  it("creates a developer granted an app, and a token whose secret is shown once; revokes it", async () => {
    await page.getByRole("link", { name: "Users" }).click()
    await page.getByRole("heading", { name: "Users and tokens" }).waitFor()
    await page.getByLabel("Username").fill("dev1")
    await page.getByLabel("Password").fill("a long enough password")
    await page.getByLabel("Role").selectOption("developer")
    await page.getByRole("checkbox", { name: "shop" }).check()
    await page.getByRole("button", { name: "Create user" }).click()
    await sees("Created developer dev1.")
    assert.match(await page.getByRole("row", { name: /dev1/ }).innerText(), /developer\s+shop/)
    const users = (await call("GET", "/api/admin/users")).json.items
    const apps = (await call("GET", "/api/admin/apps")).json.items
    assert.deepStrictEqual(users.find((u: any) => u.username === "dev1").apps, [
      apps.find((a: any) => a.name === "shop").id
    ])

    await page.getByLabel("New token name").fill("ci")
    await page.getByRole("button", { name: "Create token" }).click()
    const secret = await page.getByTestId("token-secret").innerText()
    assert.strictEqual((await call("GET", "/api/admin/session", undefined, secret)).status, 200)
    await assertCleanPage("users and tokens")
    await page.getByRole("button", { name: "I have copied it" }).click()
    assert.notInclude(await page.content(), secret)
    const row = page.getByRole("row", { name: /^ci/ })
    await row.getByRole("button", { name: "Revoke" }).click()
    await row.getByRole("button", { name: "Yes, revoke" }).click()
    await sees("Revoked ci.")
    assert.strictEqual((await call("GET", "/api/admin/session", undefined, secret)).status, 401)
    await screenshot(page, "dashboard-data-users")
  })
})
