import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { collectConsoleErrors, hasChromium, launchChromium, screenshot, seriousViolations } from "./browser.ts"
import { freePort, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-dashboard-admin-token"
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
let context: BrowserContext
let page: Page
let consoleErrors: Array<string> = []

/**
 * Until the admin API has cookie sessions (`/api/admin/session`, issue 12's API side), the browser
 * signs in through a stand-in at that URL: it checks the token with the API and then adds it as a
 * bearer token to the page's API calls, so everything else is the real process. Once the endpoint
 * exists, no stand-in is installed and the real cookie (and its CSRF rule) is what is tested.
 */
const installSessionStandIn = async (context: BrowserContext, base: string) => {
  let token: string | null = null
  await context.route(`${base}/api/**`, async (route) => {
    const request = route.request()
    const url = new URL(request.url())
    if (url.pathname === "/api/admin/session") {
      if (request.method() === "DELETE") {
        token = null
        return route.fulfill({ status: 204 })
      }
      if (request.method() === "POST") {
        const body = request.postDataJSON() as { token?: string }
        const check = await fetch(`${base}/api/admin/scripts`, { headers: { authorization: `Bearer ${body.token}` } })
        if (check.status !== 200) {
          return route.fulfill({ status: 401, json: { error: { code: "unauthorized", message: "invalid token" } } })
        }
        token = body.token ?? null
      }
      return token === null
        ? route.fulfill({ status: 401, json: { error: { code: "unauthorized", message: "not signed in" } } })
        : route.fulfill({
          status: request.method() === "POST" ? 201 : 200,
          json: { user_id: null, username: "admin", role: "admin" }
        })
    }
    const headers = { ...request.headers(), ...(token === null ? {} : { authorization: `Bearer ${token}` }) }
    return route.continue({ headers })
  })
}

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
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const probe = await fetch(`${picloud.url}/api/admin/session`)
    if (probe.status === 404) await installSessionStandIn(context, picloud.url)
    page = await context.newPage()
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

  it("signs in with the token and stays on the page asked for", async () => {
    await page.getByLabel("Token", { exact: true }).fill(TOKEN)
    await page.getByRole("button", { name: "Sign in with token" }).click()
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
