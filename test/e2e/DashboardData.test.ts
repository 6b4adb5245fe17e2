import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import {
  assertCleanPage as assertCleanPageOf,
  collectConsoleErrors,
  hasChromium,
  launchChromium,
  screenshot
} from "./browser.ts"
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
const assertCleanPage = (name: string) => assertCleanPageOf(page, consoleErrors, name)

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
    // By keyboard: the question takes the focus, Escape dismisses it (focus back on Delete), Enter answers it.
    await row.getByRole("button", { name: "Delete" }).focus()
    await page.keyboard.press("Enter")
    const focused = () => page.evaluate("document.activeElement?.textContent?.trim()")
    assert.strictEqual(await focused(), "Yes, delete")
    await page.keyboard.press("Escape")
    assert.strictEqual(await focused(), "Delete")
    await page.keyboard.press("Enter")
    await page.keyboard.press("Enter")
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

    // Grant it a second app, from its row.
    const blog = await call("POST", "/api/admin/apps", { name: "blog" })
    assert.strictEqual(blog.status, 201, blog.text)
    await page.reload()
    await page.getByRole("row", { name: /dev1/ }).getByRole("button", { name: "Grant apps" }).click()
    const grants = page.getByRole("group", { name: "Apps granted to dev1" })
    assert.isTrue(await grants.getByRole("checkbox", { name: "shop" }).isChecked())
    await grants.getByRole("checkbox", { name: "blog" }).check()
    await page.getByRole("button", { name: "Save grants" }).click()
    await sees("dev1 is granted shop, blog.")
    assert.match(await page.getByRole("row", { name: /dev1/ }).innerText(), /developer\s+shop, blog/)

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

  it("deletes an app after asking; one that holds scripts only when asked again, with everything in it", async () => {
    await goto("/apps")
    await page.getByLabel("New app name").fill("tmp")
    await page.getByRole("button", { name: "Create app" }).click()
    await sees("Created app tmp.")
    await call("POST", "/api/admin/scripts", { app: "tmp", name: "t", source: "export default () => 1" })
    const row = page.getByRole("row", { name: /^tmp/ })
    await row.getByRole("button", { name: "Delete" }).click()
    await row.getByRole("button", { name: "Cancel" }).click()
    await row.getByRole("button", { name: "Delete" }).click()
    await row.getByRole("button", { name: "Yes, delete" }).click()
    await page.getByRole("alert").filter({ hasText: "409 app_not_empty" }).waitFor()
    await row.getByRole("button", { name: "Delete with its scripts" }).click()
    await row.getByRole("button", { name: "Yes, delete everything" }).click()
    await sees("Deleted app tmp.")
    assert.strictEqual((await call("GET", "/api/admin/apps/tmp")).status, 404)
  })

  it("a trigger made in the browser fires on a key written in the KV browser; its run is in the causal tree", async () => {
    const scripts = {
      // Each write to orders/* is audited under seen/...; each audit runs `noted`.
      audit: "export default async (req, ctx) => { await kv.set('seen/' + ctx.event.key, ctx.event.version) }",
      noted: "export default (req, ctx) => { console.log('noted', ctx.event.key) }"
    }
    for (const [name, source] of Object.entries(scripts)) {
      const created = await call("POST", "/api/admin/scripts", { app: "shop", name, source })
      assert.strictEqual(created.status, 201, created.text)
    }
    const seen = await call("POST", "/api/admin/triggers", { app: "shop", script: "noted", key_pattern: "seen/**" })
    assert.strictEqual(seen.status, 201, seen.text)

    await goto("/triggers?app=shop")
    await page.getByRole("heading", { name: "Triggers" }).waitFor()
    await page.getByLabel("Script").selectOption({ label: "audit" })
    await page.getByLabel("Key pattern").fill("orders/*")
    await page.getByRole("checkbox", { name: "delete" }).uncheck()
    await page.getByRole("button", { name: "Create trigger" }).click()
    await sees("Created a trigger on orders/*.")
    assert.match(await page.getByRole("row", { name: /orders\/\*/ }).innerText(), /set\s+audit\s+shop\s+enabled/)
    await assertCleanPage("triggers")
    // Disabled and enabled again from its row.
    const triggerRow = page.getByRole("row", { name: /orders\/\*/ })
    await triggerRow.getByRole("button", { name: "Disable" }).click()
    await sees("Disabled the trigger on orders/*.")
    assert.include(await triggerRow.innerText(), "disabled")
    await triggerRow.getByRole("button", { name: "Enable" }).click()
    await sees("Enabled the trigger on orders/*.")

    // Another key the pattern matches, written first: its run must not be listed as orders/1's.
    const other = await call("PUT", "/api/admin/apps/shop/kv/orders%2F2", { total: 9 })
    assert.strictEqual(other.status, 200, other.text)
    const runsOfKey = async (key: string) =>
      (await call("GET", `/api/admin/executions?app=shop&key=${encodeURIComponent(key)}`)).json.items as Array<any>
    for (let i = 0; i < 50 && (await runsOfKey("orders/2")).length === 0; i++) await page.waitForTimeout(200)
    assert.strictEqual((await runsOfKey("orders/2")).length, 1, "orders/2's run is recorded")

    await page.getByRole("link", { name: "KV", exact: true }).click()
    await page.getByRole("heading", { name: "KV browser" }).waitFor()
    await page.getByLabel("App").selectOption("shop")
    await page.waitForURL(/\/kv\?app=shop$/)
    await page.getByLabel("Key", { exact: true }).fill("orders/1")
    await page.getByLabel("Value (JSON)").fill("{\"total\": ")
    await sees(/^Not JSON: /)
    assert.isTrue(await page.getByRole("button", { name: "Create key" }).isDisabled())
    await page.getByLabel("Value (JSON)").fill("{\"total\": 5}")
    await page.getByRole("button", { name: "Create key" }).click()
    await page.getByRole("heading", { name: "Key orders/1" }).waitFor()
    assert.strictEqual(new URL(page.url()).search, "?app=shop&key=orders%2F1")
    await sees("Version 1")
    await assertCleanPage("kv key")

    // The run is asynchronous: once it is recorded, the page lists it, and only it (not orders/2's,
    // though the same trigger ran both).
    for (let i = 0; i < 50 && (await runsOfKey("orders/1")).length === 0; i++) await page.waitForTimeout(200)
    const [own] = await runsOfKey("orders/1")
    assert.strictEqual(own?.kv_key, "orders/1")
    await page.getByRole("button", { name: "Refresh runs" }).click()
    const runs = page.getByRole("region", { name: "Triggered runs" })
    const run = runs.getByRole("row", { name: /audit/ })
    await run.waitFor()
    assert.lengthOf(await runs.locator("tbody tr").all(), 1)
    assert.match(await run.innerText(), /audit\s+succeeded\s+orders\/\*/)
    assert.strictEqual(await run.getByRole("link").getAttribute("href"), `/dashboard/executions/${own.id}`)
    await run.getByRole("link").click()
    await page.getByRole("heading", { name: "Execution", exact: true }).waitFor()
    const tree = page.getByRole("list", { name: "Causal tree" })
    const current = tree.locator("li[aria-current=true]")
    await current.waitFor()
    assert.match(await current.innerText(), /^audit succeeded/)
    assert.include(await current.innerText(), "triggered by a KV write · depth 1")
    // Its own write ran `noted` one level down, in the same tree.
    for (let i = 0; i < 50 && !(await tree.getByRole("link", { name: "noted" }).isVisible()); i++) {
      await page.getByRole("button", { name: "Refresh" }).click()
      await page.waitForTimeout(200)
    }
    const child = current.locator("ul li").first()
    assert.match(await child.innerText(), /noted\s+succeeded\s+triggered by its parent's KV write · depth 2/)
    await assertCleanPage("execution with its tree")
    await child.getByRole("link", { name: "noted" }).click()
    await page.getByText("noted seen/orders/1").waitFor()
    const marked = page.getByRole("list", { name: "Causal tree" }).locator("li[aria-current=true]")
    assert.match(await marked.innerText(), /^noted/)
    await screenshot(page, "dashboard-data-causal-tree")

    // A trigger's runs, from its row: the executions list filtered by it.
    await goto("/triggers?app=shop")
    await page.getByRole("row", { name: /orders\/\*/ }).getByRole("link", { name: "Runs" }).click()
    await page.getByText(/^Runs of trigger .* only\./).waitFor()
    await page.locator("tbody tr").first().waitFor()
    await page.locator("tbody tr").nth(1).waitFor()
    assert.deepStrictEqual(
      (await page.locator("tbody tr").allInnerTexts()).map((text) => /audit/.test(text)),
      [true, true]
    )
  })

  it("an edit with a stale version is a conflict that shows the current value", async () => {
    await goto("/kv/key?app=shop&key=orders%2F1")
    await sees("Version 1")
    // Someone else writes the key meanwhile.
    const other = await call("PUT", "/api/admin/apps/shop/kv/orders%2F1", { total: 7, by: "someone else" })
    assert.strictEqual(other.status, 200, other.text)
    await page.getByLabel("Value (JSON)").fill("{\"total\": 6}")
    await page.getByRole("button", { name: "Save (if still version 1)" }).click()
    await page.getByRole("alert").filter({ hasText: /^Conflict: .*412 version_mismatch/ }).waitFor()
    const current = page.getByRole("region", { name: "Current value (version 2)" })
    assert.include(await current.innerText(), "someone else")
    assert.strictEqual(await page.getByLabel("Value (JSON)").inputValue(), "{\"total\": 6}")
    await assertCleanPage("kv conflict")
    await screenshot(page, "dashboard-data-kv-conflict")
    await current.getByRole("button", { name: "Load the current value" }).click()
    assert.include(await page.getByLabel("Value (JSON)").inputValue(), "someone else")
    await page.getByLabel("Value (JSON)").fill("{\"total\": 6}")
    await page.getByRole("button", { name: "Save (if still version 2)" }).click()
    await sees("Saved: version 3.")
    assert.deepStrictEqual((await call("GET", "/api/admin/apps/shop/kv/orders%2F1")).json.value, { total: 6 })
  })

  it("the KV browser searches by prefix and pages by the API's cursor", async () => {
    for (let i = 0; i < 55; i++) {
      const put = await call("PUT", `/api/admin/apps/shop/kv/bulk%2F${String(i).padStart(2, "0")}`, i)
      assert.strictEqual(put.status, 200, put.text)
    }
    await goto("/kv?app=shop&prefix=bulk%2F")
    const keys = page.getByRole("region", { name: "Keys" })
    await keys.waitFor()
    assert.strictEqual(await keys.locator("tbody tr").count(), 50)
    await page.getByRole("link", { name: "Next page →" }).click()
    await page.getByRole("link", { name: "← First page" }).waitFor()
    await keys.getByRole("link", { name: "bulk/54" }).waitFor()
    assert.strictEqual(await keys.locator("tbody tr").count(), 5)
    assert.match(new URL(page.url()).search, /cursor=/)
    await assertCleanPage("kv list")
  })

  it("creates a schedule that shows its next runs; runs it now", async () => {
    await goto("/schedules?app=shop")
    await page.getByRole("heading", { name: "Schedules" }).waitFor()
    await page.getByLabel("Name").fill("nightly")
    await page.getByLabel("Script").selectOption({ label: "noted" })
    await page.getByLabel("Cron").fill("not a cron")
    await page.getByRole("button", { name: "Create schedule" }).click()
    await page.getByRole("alert").filter({ hasText: "400" }).waitFor()
    await page.getByLabel("Cron").fill("0 3 * * *")
    await page.getByRole("button", { name: "Create schedule" }).click()
    await page.getByRole("heading", { name: "Schedule nightly" }).waitFor()
    const next = page.getByRole("list", { name: "Next runs" }).getByRole("listitem")
    assert.strictEqual(await next.count(), 5)
    assert.match(await next.first().innerText(), /\(in \d+/)
    await assertCleanPage("schedule")
    await page.getByRole("button", { name: "Run now" }).click()
    await sees("Started a run.")
    await page.getByText(/lag \d/).waitFor()
    await screenshot(page, "dashboard-data-schedule")
    await page.getByRole("link", { name: "← Schedules" }).click()
    const row = page.getByRole("row", { name: /nightly/ })
    await row.waitFor()
    assert.match(await row.innerText(), /0 3 \* \* \* UTC\s+noted\s+in /)
    await row.getByRole("button", { name: "Disable" }).click()
    await sees("Disabled nightly.")
    assert.include(await row.innerText(), "disabled")
    await assertCleanPage("schedules")
  })

  it("a developer sees no Users link, and the page says it is for admins", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const dev = await context.newPage()
    const errors = collectConsoleErrors(dev)
    await dev.goto(`${picloud.url}/dashboard/users`)
    await dev.getByLabel("Username", { exact: true }).fill("dev1")
    await dev.getByLabel("Password", { exact: true }).fill("a long enough password")
    await dev.getByRole("button", { name: "Sign in", exact: true }).click()
    await dev.getByRole("heading", { name: "Users and tokens" }).waitFor()
    await dev.getByRole("alert").filter({ hasText: "Only admins manage users and tokens." }).waitFor()
    const nav = dev.getByRole("navigation", { name: "Main" })
    await nav.getByRole("link", { name: "Routes" }).waitFor()
    assert.strictEqual(await nav.getByRole("link", { name: "Users" }).count(), 0)
    // The developer's pages show its app only.
    await nav.getByRole("link", { name: "Triggers" }).click()
    await dev.getByRole("row", { name: /orders\/\*/ }).waitFor()
    assert.sameMembers(await dev.getByLabel("App").first().locator("option").allInnerTexts(), [
      "All apps",
      "shop",
      "blog"
    ])
    assert.deepStrictEqual(errors, [])
    await screenshot(dev, "dashboard-data-developer")
    await context.close()
  })

  it("fits a 390 px wide screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    for (const path of ["/kv?app=shop", "/routes", "/triggers", "/schedules", "/users"]) {
      await goto(path)
      await page.locator("main h1").waitFor()
      await page.locator("main table, main p").first().waitFor()
      const width = await page.evaluate("document.documentElement.scrollWidth")
      assert.isAtMost(Number(width), 390, path)
    }
    await goto("/kv?app=shop")
    await page.getByRole("region", { name: "Keys" }).waitFor()
    await assertCleanPage("kv, narrow")
    await screenshot(page, "dashboard-data-narrow")
    await page.setViewportSize({ width: 1280, height: 800 })
  })
})
