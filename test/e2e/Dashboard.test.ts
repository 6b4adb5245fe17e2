import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { collectConsoleErrors, hasChromium, launchChromium, screenshot, seriousViolations } from "./browser.ts"
import { freePort, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-dashboard-admin-token"
/** The environment's admin token belongs to no user, so cannot hold a session: the browser signs in as a user. */
const USER = { username: "alice", password: "correct horse battery", role: "admin" }
const BROKEN = `export default function (request, ctx) {
  console.log("hello from", ctx.script.name
  return { hello: request.query.name ?? "world" }
}
`
const FIXED = `export default function (request, ctx) {
  console.log("hello from", ctx.script.name)
  return { hello: request.query.name ?? "world" }
}
`

let dataDir = ""
let picloud: Awaited<ReturnType<typeof startPicloud>>
let browser: Browser
let page: Page
let consoleErrors: Array<string> = []

const goto = async (path: string) => {
  await page.goto(`${picloud.url}/dashboard${path}`)
}

/** The page has no serious or critical accessibility violation, and logged no error. */
const assertCleanPage = async (name: string) => {
  const violations = await seriousViolations(page)
  assert.deepStrictEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`)
  assert.deepStrictEqual(consoleErrors, [], `${name}: console errors`)
}

describe.skipIf(!hasChromium)("the dashboard in Chromium", () => {
  beforeAll(async () => {
    // The same check `npm install`/`npm start` run: builds only when the sources changed.
    execFileSync(process.execPath, ["dashboard/build.mjs"], { stdio: "inherit" })
    dataDir = mkdtempSync(join(tmpdir(), "picloud-dashboard-"))
    ;[picloud, browser] = await Promise.all([
      freePort().then((port) => startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: TOKEN } })),
      launchChromium()
    ])
    const created = await fetch(`${picloud.url}/api/admin/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(USER)
    })
    assert.strictEqual(created.status, 201, await created.text())
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    page.setDefaultTimeout(10_000)
    consoleErrors = collectConsoleErrors(page)
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    picloud?.child.kill("SIGTERM")
    await picloud?.exited
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it("signed out, every page is the login page; a wrong token is a message", async () => {
    await goto("/scripts")
    await page.getByRole("heading", { name: "Sign in to PiCloud" }).waitFor()
    await assertCleanPage("login")
    await page.getByLabel("Token", { exact: true }).fill("not-the-token")
    await page.getByRole("button", { name: "Sign in with token" }).click()
    await page.getByRole("alert").waitFor()
    assert.match(await page.getByRole("alert").innerText(), /401/)
    await screenshot(page, "dashboard-login")
  })

  it("signs in with a password and stays on the page asked for", async () => {
    await page.getByLabel("Username", { exact: true }).fill(USER.username)
    await page.getByLabel("Password", { exact: true }).fill(USER.password)
    await page.getByRole("button", { name: "Sign in", exact: true }).click()
    await page.getByRole("heading", { name: "Scripts" }).waitFor()
    assert.strictEqual(new URL(page.url()).pathname, "/dashboard/scripts")
    await assertCleanPage("scripts (empty)")
    await page.getByRole("link", { name: "Overview" }).click()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    await page.locator("main p:not(:first-child), main dl").first().waitFor()
    await assertCleanPage("overview")
    await screenshot(page, "dashboard-overview")
  })

  it("a syntax error is shown at its line; fixed, the script is created", async () => {
    await goto("/scripts")
    await page.getByRole("link", { name: "New script" }).click()
    await page.getByLabel("Name", { exact: true }).fill("hello")
    const editor = page.getByRole("textbox", { name: "Script source" })
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insertText(BROKEN)
    await page.getByRole("button", { name: "Create" }).click()
    const alert = page.getByRole("alert")
    await alert.waitFor()
    assert.match(await alert.innerText(), /^Line \d+, column \d+: /)
    await page.locator(".cm-lintRange-error").first().waitFor()
    await assertCleanPage("editor with an error")
    await screenshot(page, "dashboard-script-error")

    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insertText(FIXED)
    await page.getByRole("button", { name: "Create" }).click()
    await page.getByRole("heading", { name: "hello" }).waitFor()
    assert.match(new URL(page.url()).pathname, /^\/dashboard\/scripts\/[0-9a-f-]{36}$/)
    assert.strictEqual(await page.locator(".cm-lintRange-error").count(), 0)
  })

  // The panel runs the saved script through the admin API (POST /scripts/{id}/test-run), with the session.
  it("a test run shows the status, the response, the duration and the logs", async () => {
    await page.getByLabel("Query", { exact: true }).fill("name=pi")
    await page.getByRole("button", { name: "Run" }).click()
    const result = page.getByRole("status", { name: "Test run result" })
    await result.waitFor()
    const text = await result.innerText()
    assert.match(text, /Status 200/)
    assert.match(text, /"hello":\s*"pi"/)
    assert.match(text, /\d+ ms in the script/)
    assert.match(text, /log\s+hello from hello/)
    await assertCleanPage("script with a test run")
    await screenshot(page, "dashboard-test-run")
  })

  it("the execution is in the list, and its detail shows its logs", async () => {
    await page.getByRole("link", { name: "Executions", exact: true }).click()
    await page.getByRole("heading", { name: "Executions" }).waitFor()
    const row = page.locator("tbody tr").first()
    await row.waitFor()
    assert.match(await row.innerText(), /hello\s+v1\s+succeeded\s+200/)
    await assertCleanPage("executions")
    await row.getByRole("link").click()
    await page.getByRole("heading", { name: "Execution" }).waitFor()
    await page.getByText("hello from hello").waitFor()
    await assertCleanPage("execution detail")
    await screenshot(page, "dashboard-execution")
  })

  it("fits a 390 px wide screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    for (const path of ["/scripts", "/executions"]) {
      await goto(path)
      await page.locator("tbody tr").first().waitFor()
      const width = await page.evaluate("document.documentElement.scrollWidth")
      assert.isAtMost(Number(width), 390, path)
    }
    await assertCleanPage("executions, narrow")
    await screenshot(page, "dashboard-narrow")
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("signs out; the API then refuses the browser", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByRole("heading", { name: "Sign in to PiCloud" }).waitFor()
    const status = await page.evaluate(async () => (await fetch("/api/admin/scripts")).status)
    assert.strictEqual(status, 401)
    await goto("/executions")
    await page.getByRole("heading", { name: "Sign in to PiCloud" }).waitFor()
    await assertCleanPage("login after sign-out")
    await screenshot(page, "dashboard-signed-out")
  })
})
